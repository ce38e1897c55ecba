"""Domain logic: audiences, broadcasts, the sending engine, roster import, scheduling.

Services take an injected session factory and own their transactions. Only the modules
that must talk to Telegram (the sender and the progress reporter) import aiogram.
"""
