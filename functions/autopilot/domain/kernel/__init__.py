"""The shared kernel: the desk record, the policy and its resolution, errors, WorkSpaces value types, the batch
result, the outbox and timer ports. Imports no capability."""
