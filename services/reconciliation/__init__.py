"""reconciliation: receipts against enrollments, dues and bank settlement; progress per village."""
