## Editing and deleting a sent announcement for everyone, and its history.

details-btn-edit = ✏️ Edit for everyone
details-btn-delete = 🗑 Delete for everyone

edit-ask-text = Send the corrected text of broadcast #{ $id }, with its formatting. It will replace the text of { $count ->
        [one] { $count } delivered message
       *[other] { $count } delivered messages
    }.
edit-ask-caption = Send the corrected caption of broadcast #{ $id }, with its formatting. It will replace the caption of { $count ->
        [one] { $count } delivered message
       *[other] { $count } delivered messages
    }.
edit-pending = { $count ->
        [one] { $count } recipient still waiting gets the corrected text.
       *[other] { $count } recipients still waiting get the corrected text.
    }
edit-text-wanted = Send the corrected text as a message (a text, or a caption with its media).
edit-btn-abort = ✖ Don't edit
edit-confirm = Edit broadcast #{ $id } for everyone to the text above? { $count ->
        [one] { $count } delivered message changes.
       *[other] { $count } delivered messages change.
    }
edit-btn-yes = Yes, edit it
edit-btn-no = No
edit-kept = Broadcast #{ $id } was not edited.
edit-stale = This edit is no longer open: press ✏️ Edit for everyone again.
edit-started = Editing broadcast #{ $id } in { $count ->
        [one] { $count } chat
       *[other] { $count } chats
    }.

delete-confirm = Delete broadcast #{ $id } for everyone? { $count ->
        [one] { $count } delivered message is deleted.
       *[other] { $count } delivered messages are deleted.
    }
delete-too-old = { $count ->
        [one] { $count } message is older than 48 hours: Telegram no longer lets the bot delete it.
       *[other] { $count } messages are older than 48 hours: Telegram no longer lets the bot delete them.
    }
delete-pending = Sending stops first: { $count ->
        [one] { $count } recipient still waiting will not get it.
       *[other] { $count } recipients still waiting will not get it.
    }
delete-btn-yes = Yes, delete it
delete-btn-no = No
delete-kept = Broadcast #{ $id } was not deleted.
delete-started = Deleting broadcast #{ $id } in { $count ->
        [one] { $count } chat
       *[other] { $count } chats
    }.

cannot-edit = Broadcast #{ $id } is { $status }: only a broadcast being sent or sent can be edited.
cannot-delete = Broadcast #{ $id } is { $status }: only a broadcast being sent or sent can be deleted.
error-nothing-delivered = Broadcast #{ $id } was delivered to nobody: there is nothing to change.
error-nothing-deletable = Broadcast #{ $id } cannot be deleted: all { $count } of its messages are older than 48 hours.
error-run-in-progress = Broadcast #{ $id } is being { $kind ->
        [edit] edited
       *[delete] deleted
    } right now (#{ $run }): wait until it has finished.
error-already-deleted = Broadcast #{ $id } was deleted for everyone at { $time }.


history-title = <b>History</b>
history-created = { $time } · created by { $who }
history-scheduled = { $time } · scheduled by { $who }
history-sent = { $time } · sending started by { $who }
history-edited = { $time } · edited by { $who }; it read: { $previous }
history-deleted = { $time } · deleted for everyone by { $who }
history-reminded = { $time } · reminder sent by { $who }
history-cancelled = { $time } · cancelled by { $who }
history-nobody = the bot
history-more = … and { $count } earlier

csv-edited-at = Edited at ({ $tz })
csv-deleted-at = Deleted at ({ $tz })
csv-amend-error = Edit or delete error
csv-history-at = When ({ $tz })
csv-history-who = Who
csv-history-what = What
csv-history-previous = Text before the edit
csv-history-created = created
csv-history-scheduled = scheduled
csv-history-sent = sending started
csv-history-edited = edited for everyone
csv-history-deleted = deleted for everyone
csv-history-reminded = reminder sent
csv-history-cancelled = cancelled
export-history-caption = History of broadcast #{ $id }: { $count ->
        [one] { $count } event
       *[other] { $count } events
    }.
