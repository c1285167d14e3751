"""Fleet: the sweep (fleet_watch), adoption of existing desks, AutoStop, pre-warm of shift workers, unused desks."""
