# Refused requests (services.errors.DomainError), turned into replies by handlers/errors.py.

error-broadcast-not-found = Broadcast { $id } not found
error-content-too-long = The message is { $length } characters long; the limit is { $limit }.
error-content-invisible = { $what ->
    [caption] The caption
   *[message] The message
} has no visible characters: only spaces or invisible ones, so recipients would see nothing. { $what ->
    [caption] Send the file again with a caption to read, or without one.
   *[message] Send a text with something to read.
}
error-no-recipients = No recipients found for group { $group }
error-time-unparseable = I can't read «{ $text }» as a date and time. Use one of: { $examples }
error-time-past = { $time } ({ $tz }) has already passed; pick a time in the future.
error-time-nonexistent = { $time } does not exist in { $tz } (the clocks change then); pick another time.
error-retry-limit = Broadcast #{ $id } was already retried { $rounds ->
    [one] once
   *[other] { $rounds } times
}; that is the limit ({ $limit }).
error-retried-meanwhile = Broadcast #{ $id } has been retried since you were asked (it has been retried { $rounds ->
    [one] once
   *[other] { $rounds } times
} now), so nothing was sent again. Send /retry { $id } to be asked anew.
confirm-changed = Broadcast #{ $id } has changed since you were asked: it is { $status } now, not { $was }.
cannot-retarget = Broadcast #{ $id } is { $status }: only a draft or a scheduled broadcast can get another audience.
cannot-add-recipients = Broadcast #{ $id } is { $status }: recipients can no longer be added.
cannot-deliver = Broadcast #{ $id } is { $status }: only a broadcast being sent goes out.
