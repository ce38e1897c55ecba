not-allowed = Sorry, this is only for the school's administrators.
button-unknown = This button no longer works.
# A list of names: "Masha and Petya", "Masha, Petya and Anna".
list-and = { $items } and { $last }
help-admin =
    <b>What you can do</b>
    /new — create a broadcast: send it now, schedule it or save a draft
    /broadcasts [status] — list broadcasts, newest first; /broadcasts search WORDS finds them by text
    /broadcast ID — details, with buttons: progress, recipients, who has not confirmed, who cannot be reached, CSV export, retry, cancel; send a draft now or schedule it; send a scheduled one early or move it
    /progress [ID] — how far a broadcast has got (without an ID: your latest)
    /retry [ID] — send again to the recipients whose delivery failed (asks first)
    /cancel [ID] — cancel a draft, scheduled or sending broadcast (asks first)
    /recipients ID [sent|failed|pending|unconfirmed] — who got it, who did not, and why
    /stats — statistics of all broadcasts
    /reach — who can be reached, per role and class, with invite links for those with no Telegram linked
    /help — this list
help-user = I deliver your school's announcements here. There is nothing you need to do; to link your account, open the invite link your school sent you.
help-linked = I deliver your school's announcements here, { $name }. Your account is linked: there is nothing you need to do.
scheduled-no-recipients = Scheduled broadcast #{ $id } was not sent: nobody in “{ $group }” can receive it now. It is marked as failed.
scheduled-not-sent = Scheduled broadcast #{ $id } was not sent: { $reason }. It is marked as failed.

# Examples of the times an admin may type (the parser reads all of them, in both languages).
schedule-examples = 2026-12-01 09:30, 01.12.2026 09:30, 09:30, today 18:00, tomorrow 9:00

# To people who write to the bot (at most once a day), and to admins who type what no feature takes.
reply-announcements-only = Thank you! This chat delivers your school's announcements; messages sent here are not read.
reply-school-contact = To reach the school: { $contact }
admin-hint = I didn't catch that. /help lists what I can do; /new starts a broadcast.
