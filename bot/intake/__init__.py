"""Intake: initiatives that arrive in spreadsheets and Word files (a union's mẫu 1 table, the
bot's own /xuat file) read, checked by the form's own rules and filed for their authors, from
`sangkien intake` and from /nhaptep in chat.

read.py turns a file into a table of texts, columns.py says what each column and cell means,
check.py runs the form's rules over each row, apply.py files the rows that passed, report.py
writes the rows that failed back into a spreadsheet with their reasons."""
