"""`autopilot`: the operator CLI of WorkSpaces Autopilot (dev/operator tooling, never deployed in a Lambda).

It works against a deployed stack (resources found from the stack's outputs) or against the local cloud
(`--local SCENARIO`: the scenario is run in-process first). See docs/cli.md.
"""
