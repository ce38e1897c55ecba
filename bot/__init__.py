"""Assembly only: builds settings → database → bot → services → dispatcher and runs them.

Nothing outside `bot/` imports it except the entry point (`run_bot.py`) and the tests.
"""
