"""Environmental police and joint operations (环保警察与联合执法, issue 20 item 2).

Pure model, no storage: ``rules`` (the legal basis as data with its sources, the transfer's
time limits, the operation settings), ``transfer`` (the case-transfer state machine 移送 as a
table: proposal, approval, transfer with the evidence package, acceptance or return by the
police, reconsideration, outcome), ``operations`` (planned joint and night operations 零点行动:
the state machine, the time window across midnight). ``service`` persists them (one
transaction per change, each with its event in the hash-chained ``police_audit``) and hands
findings to enforcement's intake. See ``docs/governance.md`` "环保警察与联合执法".
"""
