"""Assembly of the bot: settings, Bot and Dispatcher, middlewares and the entry point."""
