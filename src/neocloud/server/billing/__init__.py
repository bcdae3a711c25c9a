"""Invoices and statements, their status, documents and credit notes, credits, budgets and exports."""
