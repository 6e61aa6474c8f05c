"""Importing staff files (CSV, XLSX, JSONL, survey workbooks) into the store, validated and atomic."""
