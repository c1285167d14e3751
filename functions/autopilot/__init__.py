"""autopilot"""
