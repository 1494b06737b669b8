"""sangkien-bot: the chat channel for union initiative campaigns."""
