# A broadcast's delivery options (the wizard's options step, the preview and the details)
# and read confirmations: the button under delivered messages, what a press answers, and
# the count admins see.

compose-step-options =
    <b>New broadcast</b> · { compose-step-number }
    How should it be delivered? Tap an option to switch it on or off, then continue.
    Urgent goes out at once and with sound, even in quiet hours: switching it on switches Silent off, and the reverse.
compose-option-ask_confirmation = { $ask_confirmation ->
        [on] ✅
       *[off] ⬜
    } Ask to confirm reading
compose-option-silent = { $silent ->
        [on] ✅
       *[off] ⬜
    } Silent: no sound
compose-option-protected = { $protected ->
        [on] ✅
       *[off] ⬜
    } Protected: no forwarding or saving
compose-option-urgent = { $urgent ->
        [on] ✅
       *[off] ⬜
    } Urgent: at once, with sound, even in quiet hours
compose-preview-options = Options: { $options }
details-options = Options: { $options }
option-ask_confirmation = asks to confirm reading
option-silent = silent
option-protected = protected
option-urgent = urgent

# Quiet hours (QUIET_HOURS): a broadcast that is not urgent waits for their end.
quiet-starts = 🌙 Quiet hours now: it will start at { $time }.
quiet-scheduled = 🌙 That is within quiet hours: it will start at { $time }.

read-btn = ✅ I have read it
read-btn-confirmed = ✅ Confirmed { $time }
read-thanks = Thank you, your confirmation is recorded.
read-already = You already confirmed at { $time }.
read-done = Your confirmation is recorded.
read-refused = Only the person this message was sent to can confirm reading it.
read-count = Confirmed: { $confirmed } of { $delivered } delivered ({ $percent })
