"""Invoices and statements, their status, documents, credit notes, credits, budgets, exports."""
