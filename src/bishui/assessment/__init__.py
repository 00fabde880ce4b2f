"""County scorecards (考核), the allocation of funds they drive, natural-resource asset tables
and the leadership departure audit (离任审计): declarative indicator sets per year drawing on the
platform's own figures, every point with the evidence behind it.

docs/assessment.md explains every method with its source.
"""
