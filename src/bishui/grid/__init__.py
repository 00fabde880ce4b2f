"""Grid sensors over MQTT (网格化监测): micro-stations (微型站) and construction-dust
monitors (扬尘监测点).

``payload`` is the message convention (topic, JSON, canonical form, HMAC-SHA256 signature),
sans-IO; ``intake`` validates a message against the registry into the same raw log, series and
quarantine as HJ 212 and commits groups of them with redelivery detection; ``mqtt`` is the thin
client (paho-mqtt) that acknowledges (PUBACK) only after the commit; ``simulator`` publishes
signed messages for tests and the model city. docs/grid.md describes all of it.
"""
