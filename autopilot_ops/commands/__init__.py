"""The operator CLI's commands, one module per command group; autopilot_ops/cli.py assembles them."""
