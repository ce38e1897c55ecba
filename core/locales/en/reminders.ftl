# Reminders to those who have not confirmed reading: the reminder itself (in the
# recipient's language), the button and question in the details, the automatic reminder
# in the options step, and the refusals.

reminder-text = 🔔 Reminder: please confirm you have read this message.

details-btn-remind = 🔔 Remind those who have not confirmed ({ $count }) · { $left } of { $limit } left
details-btn-remind-none-left = 🔔 No reminders left ({ $limit } of { $limit } sent)
remind-confirm = Broadcast #{ $id }: remind { $count ->
        [one] { $count } recipient who has
       *[other] { $count } recipients who have
    } not confirmed?
remind-btn-yes = Yes, remind
remind-btn-no = No, not now
remind-kept = No reminder sent for broadcast #{ $id }.
remind-started = Reminder for broadcast #{ $id } started: { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    }.

reminders-line = Reminders: { $counted } of { $limit } — { $runs }
reminders-run = { $time } ({ $sent } sent)
reminders-run-sending = { $time } (sending: { $sent } of { $total })
reminders-next-automatic = next automatic at { $time }

auto-remind-never = never
auto-remind-after = after { $hours } h
compose-option-auto_remind = 🔔 Reminder: { $auto_remind }
compose-preview-auto-remind = Automatic reminder: { $auto_remind }
details-auto-remind = Automatic reminder: { $when }

csv-reminders = Reminders sent
delivery-error-not_needed = confirmed before the reminder

cannot-remind = Broadcast #{ $id } is { $status }: only a broadcast that has been sent can be reminded of.
error-reminder-limit = Broadcast #{ $id } already has { $sent } reminders; that is the limit ({ $limit }).
error-reminder-in-progress = Broadcast #{ $id }: reminder #{ $reminder } is still being sent. Wait until it has finished.
error-reminded-meanwhile = Broadcast #{ $id } got another reminder since you were asked ({ $sent } now). Open its details to see.
error-nobody-to-remind = Broadcast #{ $id }: everyone who got it has confirmed reading; nobody to remind.
