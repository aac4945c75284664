"""Sharing requests (共享申请): the signed steps of one department's application for another's data.

`documents` is the format of a step (signed, canonical, strictly parsed), `state` the state machine
that says which step may follow which and who may sign it, `redaction` what a department that is
not a party to a request receives instead of the step. docs/protocol.md § 3a specifies all three.
"""
