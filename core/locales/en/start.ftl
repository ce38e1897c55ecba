start-admin = Hello! I send the school's announcements. Start a new broadcast with the button below or /new; /help lists everything you can do.
start-linked = Hello, { $name }! You are all set: the school's announcements arrive in this chat.
start-unknown = Hello! I deliver announcements from your school. To receive them, open the personal invite link your school sent you.
invite-linked = Done, { $name }! This Telegram account is now linked, and the school's announcements will arrive in this chat.
invite-linked-parent = Welcome, { $name }! This Telegram account is now linked: you will get the school's messages about { $children } in this chat.
invite-moved = This Telegram account was linked to { $previous } until now; { $previous } will no longer receive announcements here.
invite-invalid = This invite link is not valid: it may be mistyped, or the school has issued a newer one. Ask your school for a new link.
invite-used = This invite link has already been used. To link another Telegram account, ask your school for a new link.
