"""Domain logic: audiences, broadcasts, the sending engine, roster import, scheduling.

Services take an injected session factory and own their transactions. Only the modules
that must talk to Telegram import aiogram: the sender, the content sending it shares with
the compose preview, its limiter and error classifier, the progress reporter and the
scheduler (which notifies admins).
"""
