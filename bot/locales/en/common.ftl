not-allowed = Sorry, this is only for the school's administrators.
help-admin = Commands: /help
help-user = I deliver your school's announcements here. There is nothing you need to do; to link your account, open the invite link your school sent you.
scheduled-no-recipients = Scheduled broadcast #{ $id } was not sent: nobody in “{ $group }” can receive it now. It is marked as failed.
scheduled-not-sent = Scheduled broadcast #{ $id } was not sent: { $reason }. It is marked as failed.
