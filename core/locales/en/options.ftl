# A broadcast's delivery options (the wizard's options step, the preview and the details)
# and read confirmations: the button under delivered messages, what a press answers, and
# the count admins see.

compose-step-options =
    <b>New broadcast</b> · { compose-step-number }
    How should it be delivered? Tap an option to switch it on or off, then continue.
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
compose-preview-options = Options: { $options }
details-options = Options: { $options }
option-ask_confirmation = asks to confirm reading
option-silent = silent
option-protected = protected

read-btn = ✅ I have read it
read-btn-confirmed = ✅ Confirmed { $time }
read-thanks = Thank you, your confirmation is recorded.
read-already = You already confirmed at { $time }.
read-done = Your confirmation is recorded.
read-refused = Only the person this message was sent to can confirm reading it.
read-count = Confirmed: { $confirmed } of { $delivered } delivered ({ $percent })
