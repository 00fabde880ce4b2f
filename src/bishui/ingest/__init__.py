"""Ingest: decode → authenticate → validate → store or quarantine → aggregate.

``packets`` turns an accepted HJ 212 data packet into measurement rows (or quarantine
entries with the rule broken); ``writer`` commits them in groups and tells each sender when
its data is durable; ``sink`` is the gateway's sink built on both; ``upload`` imports CSV and
Excel files all-or-nothing; ``aggregate`` computes the platform's hourly and daily values.
"""
