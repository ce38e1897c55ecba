# Monitoring and repair: /progress /retry /cancel /broadcasts /broadcast /recipients /stats,
# the live progress message and the command menus. Values from users are HTML-escaped by the code.

command-start = Start the bot
command-help = What I can do for you
command-new = Create a new broadcast
command-broadcasts = List broadcasts: [status] or search WORDS
command-broadcast = Broadcast details: ID
command-progress = Progress of a broadcast: [ID]
command-retry = Send again to failed recipients: [ID]
command-cancel = Cancel a broadcast: [ID]
command-recipients = Recipients: ID [sent|failed|pending|unconfirmed]
command-stats = Statistics of all broadcasts
command-reach = Who can be reached, per role and class

status-draft = Draft
status-scheduled = Scheduled
status-sending = Sending
status-sent = Sent
status-completed = Completed with failures
status-failed = Failed
status-cancelled = Cancelled
# Short status names for the filter buttons of /broadcasts (they must fit a phone).
status-short-draft = Drafts
status-short-scheduled = Scheduled
status-short-sending = Sending
status-short-sent = Sent
status-short-completed = With failures
status-short-failed = Failed
status-short-cancelled = Cancelled

recipient-status-pending = Pending
recipient-status-sent = Sent
recipient-status-failed = Failed

delivery-error-blocked = bot blocked by user
delivery-error-deactivated = user is deactivated
delivery-error-cant_initiate = user never started the bot
delivery-error-chat_not_found = chat not found
delivery-error-server_error = Telegram server error
delivery-error-network = network error
delivery-error-timeout = timeout
delivery-error-unauthorized = bot token revoked
delivery-error-message_gone = message deleted by the recipient
delivery-error-too_old = too old to delete (over 48 hours)
delivery-error-other = other error

progress-title = { $icon } <b>Broadcast #{ $id }</b> · { $status }
progress-title-reminder = { $icon } <b>Reminder for broadcast #{ $id }</b> · { $status }
progress-title-edit = { $icon } <b>Edit of broadcast #{ $id }</b> · { $status }
progress-title-delete = { $icon } <b>Delete of broadcast #{ $id }</b> · { $status }
progress-counts = Sent: { $sent } · Failed: { $failed } · Pending: { $pending } (of { $total })
progress-rate = Rate: { $rate } msg/s · ETA: { $eta }
progress-paused = ⏸ Paused: database unavailable, retrying
progress-quiet-paused = ⏸ Paused for quiet hours until { $time }
progress-quiet-start = 🌙 Will start at { $time } (quiet hours)
progress-retry-wait = ⏳ Waiting for retries: { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    }, next at { $time }
progress-took = Took { $duration }
progress-errors = Errors: { $failed } failed: { $details }
progress-times = Created: { $created } · Started: { $started } · Finished: { $finished }
progress-btn-refresh = 🔄 Refresh
progress-btn-cancel = ✖ Cancel
progress-btn-retry = 🔁 Retry failed ({ $count })
progress-btn-details = 📋 Details

usage-progress = Usage: /progress [ID] (without an id: your latest broadcast)
usage-retry = Usage: /retry [ID] (without an id: your latest broadcast)
usage-cancel = Usage: /cancel [ID] (without an id: your latest broadcast)
usage-broadcasts = Usage: /broadcasts [{ $statuses }] or /broadcasts search WORDS
usage-broadcast = Usage: /broadcast ID
usage-recipients = Usage: /recipients ID [sent|failed|pending|unconfirmed]
no-broadcasts-yet = You have no broadcasts yet. Create one with /new, or give the id of a broadcast (/broadcasts lists them all).
cannot-cancel = Broadcast #{ $id } is { $status }: there is nothing to cancel.
cannot-retry = Broadcast #{ $id } is { $status }: there is nothing to retry.
cannot-reschedule = Broadcast #{ $id } is { $status }: only a scheduled broadcast can be moved.
cannot-send = Broadcast #{ $id } is { $status }: only a draft or a scheduled broadcast can be sent now.
cannot-schedule = Broadcast #{ $id } is { $status }: only a draft can be scheduled.

cancel-confirm = { $state ->
        [draft] Cancel draft #{ $id }? It will not be sent.
        [scheduled] Cancel scheduled broadcast #{ $id }? It will not go out.
       *[other] Cancel broadcast #{ $id } ({ $status })? Recipients who have not got it yet will not get it.
    }
cancel-btn-yes = Yes, cancel it
cancel-btn-no = No, keep it
cancel-done-draft = Draft #{ $id } cancelled: it will not be sent.
cancel-done-scheduled = Scheduled broadcast #{ $id } cancelled: it will not go out.
# $stopped: recipients still pending, who will not get it.
cancel-done-sending = Broadcast #{ $id } cancelled{ $stopped ->
        [0] .
       *[other] : { $stopped } will not get it.
    }
cancel-done-unsettled = Broadcast #{ $id } cancelled. Some messages were still on their way, so up to { $stopped } will not get it; the progress message will show the final count.
cancel-too-late = Too late for { $count }: already delivered.
cancel-failed = Failed: { $count }.
cancel-kept = Broadcast #{ $id } was not cancelled.
cancel-confirm-run = { $kind ->
        [reminder] Stop the reminder for broadcast #{ $id }? Those it has not reached yet will not get it.
        [edit] Stop correcting broadcast #{ $id }? Messages not corrected yet keep the previous text.
       *[delete] Stop deleting broadcast #{ $id }? Messages not deleted yet stay in their chats.
    }
cancel-done-run = { $kind ->
        [reminder] The reminder for broadcast #{ $id } is stopped
        [edit] Correcting broadcast #{ $id } is stopped
       *[delete] Deleting broadcast #{ $id } is stopped
    }{ $stopped ->
        [0] .
       *[other] { $settled ->
            [yes] : { $stopped } left as they were.
           *[no] : up to { $stopped } left as they were; the progress message will show the final count.
        }
    }
cancel-kept-run = { $kind ->
        [reminder] The reminder for broadcast #{ $id } goes on.
        [edit] Correcting broadcast #{ $id } goes on.
       *[delete] Deleting broadcast #{ $id } goes on.
    }

retry-started = Retry started for { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    } (broadcast #{ $id }).
retry-nothing = Broadcast #{ $id } has no failed recipients worth another try (blocked and deactivated users are not retried).
retry-confirm = Broadcast #{ $id }: send again to { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    }?
retry-btn-yes = Yes, send again
retry-btn-no = No, not now
retry-kept = Broadcast #{ $id } was not retried; nothing changed.
run-name = { $kind ->
        [reminder] Reminder for broadcast #{ $id }
        [edit] Edit of broadcast #{ $id }
       *[delete] Delete of broadcast #{ $id }
    }
retry-confirm-run = { $what }: try again for { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    }?
retry-started-run = Retry started for { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    } ({ $what }).
retry-kept-run = { $what }: nothing was tried again.

list-title = <b>Broadcasts</b> · { $filter } · { $count } found · page { $page } of { $pages }
list-search = Search: «{ $query }»
list-filter-all = All
list-empty = No broadcasts match.
list-item = { $icon } <b>#{ $id }</b> · { $status } · { $when } · { $audience } · { $count }
list-when-scheduled = for { $time }
list-count-sent = { $sent } of { $total } sent
list-count-reach = { $count } reachable now
list-search-expired = This search has expired. Send /broadcasts search WORDS again.
list-btn-prev = ‹ Previous
list-btn-next = Next ›

details-title = { $icon } <b>Broadcast #{ $id }</b> · { $status }
details-audience = Audience: { $audience }
details-filter-subject = subject #{ $id }
details-filter-tutor = tutor #{ $id }
details-filter-teacher = teacher #{ $id }
# Who of a group of students receive it, after the group: "By class (5B) · parents".
details-who-parents = parents
details-who-both = students and parents
details-filter-custom = { $count ->
        [one] { $count } user
       *[other] { $count } users
    }
details-author = Created by { $name } on { $created }
details-author-unknown = Created on { $created }
details-scheduled = Scheduled for { $time } ({ $tz })
details-times = Started: { $started } · Finished: { $finished }
details-cancelled = Cancelled: { $time }
details-counts = Recipients: { $total } · sent { $sent } · failed { $failed } · pending { $pending }
details-reach = Not sent yet; { $count ->
        [one] { $count } person can
       *[other] { $count } people can
    } receive it now.
details-content-text = Message:
details-content-media = Message ({ $kind }), caption:
content-kind-photo = photo
content-kind-video = video
content-kind-document = document
content-kind-animation = animation
details-btn-progress = 📊 Progress
details-btn-recipients = 👥 Recipients
details-btn-retry = 🔁 Retry failed ({ $count })
details-btn-cancel = ✖ Cancel
details-btn-reschedule = 🕒 Reschedule
details-btn-send = 🚀 Send now
details-btn-schedule = 🕒 Schedule

send-confirm = Send broadcast #{ $id } ({ $status }) now?
    Audience: { $audience }
    { $count ->
        [one] { $count } recipient can receive it.
       *[other] { $count } recipients can receive it.
    }
send-btn-yes = Yes, send it now
send-btn-no = No, not now
send-started = Broadcast #{ $id } is being sent to { $count ->
        [one] { $count } recipient
       *[other] { $count } recipients
    }.
send-kept = Broadcast #{ $id } was not sent; nothing changed.

recipients-title = <b>Recipients of #{ $id }</b> · { $filter } · { $count } found · page { $page } of { $pages }
recipients-filter-all = All
recipients-empty = Nobody here.
recipients-item-sent = ✅ { $name } · { $time }
recipients-item-pending = ⏳ { $name }
recipients-item-failed = ❌ { $name } · { $error }

reschedule-ask = Send the new time for broadcast #{ $id } ({ $tz }), for example: { $examples }
reschedule-done = Broadcast #{ $id } now goes out at { $time } ({ $tz }).
reschedule-aborted = Broadcast #{ $id } keeps its time.
reschedule-btn-abort = ✖ Keep the current time

schedule-ask = Send the time for broadcast #{ $id } ({ $tz }), for example: { $examples }
schedule-done = Broadcast #{ $id } is scheduled for { $time } ({ $tz }).
schedule-aborted = Broadcast #{ $id } stays a draft.
schedule-btn-abort = ✖ Keep it a draft

stats-title = <b>Statistics</b>
stats-broadcasts = Broadcasts: { $total }
stats-status-line = { $icon } { $status }: { $count }
stats-recipients = Recipients: { $total } · failed: { $failed } ({ $rate }%)
stats-processing = Average sending time: { $duration } (over { $count ->
        [one] { $count } finished broadcast
       *[other] { $count } finished broadcasts
    })
stats-processing-none = Average sending time: — (no finished broadcasts yet)
