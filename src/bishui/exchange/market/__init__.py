"""The exchange's market rules, as pure functions over plain values (no store).

One module per concept: :mod:`.money` (fen, rounding, apportionment), :mod:`.refusals`
(the ``Refusal(code, zh, en)`` checks return), :mod:`.determination`
(排污权初始核定), :mod:`.fees` (有偿使用费, instalments), :mod:`.bidding` (电子竞价 and the call
auction), :mod:`.transfer` (协议转让), :mod:`.restrictions` (Hubei trade restrictions),
:mod:`.compliance` (履约), :mod:`.energy` (节能量确权) and :mod:`.report` (market statistics).
Rule tables are TOML files in ``data/`` with their source and date. docs/exchange.md, "Market
rules", explains each rule and the choices made where a text is loose.
"""
