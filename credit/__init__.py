"""Credit operations on top of models/: the decision ledger, approvals and replays.

Imports models/ and features/, never pipeline/. It knows a database URL, not file layouts: the
caller (the CLI) decides where the embedded SQLite ledger lives and passes its URL.
"""
