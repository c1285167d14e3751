"""The fleet report: its facts from one read of the state table (data), the HTML page (page), the item kinds
it reads (records) and the weekly run that stores it and says where (weekly). Shared by the operator CLI
(`autopilot report --html`) and ReportFunction."""
