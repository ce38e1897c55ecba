not-allowed = Sorry, this is only for the school's administrators.
start-admin = Hello! I send the school's announcements. Use /help to see what you can do.
start-unknown = Hello! I deliver announcements from your school. To receive them, open the personal invite link your school sent you.
help-admin = Commands: /help
help-user = I deliver your school's announcements here. There is nothing you need to do; to link your account, open the invite link your school sent you.
