"""Reaching people beyond answers: announcements (/thongbao), reminders, the monthly report,
and what the outbox has delivered or given up (`sangkien outbox status`)."""
