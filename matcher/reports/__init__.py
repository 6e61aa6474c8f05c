"""Monthly batch reports: capacity-aware proposals for every key enterprise, stored as a run, written
as a workbook staff can forward and a page with charts for the director."""
