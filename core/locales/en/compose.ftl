# The compose wizard (/new). Values put into messages are HTML-escaped by the code.

target-all_students = All students
target-all_teachers = All teachers
target-all_tutors = All tutors
target-all_parents = All parents
target-by_subject = By subject
target-by_tutor = By tutor
target-by_teacher = By teacher
target-custom = Custom list

compose-new-broadcast = 📝 New broadcast
compose-btn-back = « Back
compose-btn-cancel = ✖ Cancel
compose-btn-keep-audience = Keep the current audience »
compose-btn-keep-content = Keep the current message »
compose-btn-prev = ‹ Previous
compose-btn-next = Next ›
compose-btn-show-all = Show all
compose-btn-continue = Continue »
compose-btn-send = ✅ Send now
compose-btn-schedule = 🕒 Schedule
compose-btn-draft = 💾 Save draft
compose-btn-edit-content = ✏️ Edit message
compose-btn-edit-audience = 👥 Edit audience
compose-btn-in-hour = In 1 hour
compose-btn-tomorrow-morning = Tomorrow 09:00

# The step the admin is on, counting only the steps of their path (4 for "All students",
# 5 when a subject, a person or a list is picked); before the audience is chosen, no total.
compose-step-number = { $steps ->
        [0] step { $step }
       *[other] step { $step } of { $steps }
    }
compose-step-audience =
    <b>New broadcast</b> · { compose-step-number }
    Who should receive it?
compose-step-pick-by_subject =
    <b>New broadcast</b> · { compose-step-number }
    Pick the subject: its students and teachers will receive the broadcast.
compose-step-pick-by_tutor =
    <b>New broadcast</b> · { compose-step-number }
    Pick the tutor: their students will receive the broadcast.
compose-step-pick-by_teacher =
    <b>New broadcast</b> · { compose-step-number }
    Pick the teacher: their students will receive the broadcast.
compose-pick-search-hint = { $narrowing ->
        [by_subject] Type part of the subject's name to search.
       *[other] Type part of the name to search.
    } The message itself comes after this step.
compose-pick-query = Search: «{ $query }»
compose-pick-found = Found: { $total } · page { $page } of { $pages }
compose-pick-nothing = Nothing found. Send another part of a name, or show all.
compose-pick-not-a-name = { $narrowing ->
        [by_subject] This step only finds the subject: type part of its name (one short line), or pick it above.
       *[other] This step only finds the person: type part of their name (one short line), or pick them above.
    } Send the message itself after that.
compose-pick-gone = This choice is no longer in the list; pick again.
compose-step-custom =
    <b>New broadcast</b> · { compose-step-number }
    Send the recipients separated by spaces, commas or new lines: the school's own ids from the roster (e.g. S001, any case), @usernames or Telegram ids.
compose-custom-selected = Selected: { $count }. Continue, or send another list to replace it.
compose-custom-matched = Found ({ $count }): { $people }
compose-custom-unmatched = Not found ({ $count }): { $references }
compose-custom-none = Nobody was found. Check the list and send it again.
compose-step-content =
    <b>New broadcast</b> · { compose-step-number }
    Send the message exactly as recipients should see it: formatted text of up to { $limit } characters, or one photo, video, document or animation with a caption.
compose-content-kept = The current message is shown above the preview; send a new one to replace it.
compose-content-unsupported = I can't broadcast this kind of message. Send text, or a photo, video, document or animation with a caption.

compose-audience-by_subject = Students and teachers of { $name }
compose-audience-by_tutor = Students of tutor { $name }
compose-audience-by_teacher = Students of teacher { $name }
compose-audience-custom = Custom list of { $count } { $count ->
        [one] user
       *[other] users
    }
compose-step-preview =
    <b>New broadcast</b> · { compose-step-number }
    Above is the message as recipients will see it.
compose-preview-audience = Audience: { $audience }
# A deleted ("deactivated") Telegram account is counted apart from blocking the bot, and
# only named when there is one.
compose-preview-counts =
    Will receive it: { $reachable }
    Not reachable: { $no_telegram } without Telegram linked, { $blocked } blocked the bot{ $deactivated ->
        [0] {""}
        [one] , { $deactivated } deactivated account
       *[other] , { $deactivated } deactivated accounts
    }
compose-no-recipients = No recipients found for group { $audience }

compose-step-schedule =
    <b>New broadcast</b> · schedule
    When should it go out? Pick a quick choice or send a date and time ({ $tz }), for example: { $examples }

compose-created-sending = Broadcast created (#{ $id }). Sending to { $count } { $count ->
        [one] recipient
       *[other] recipients
    }.
compose-created-draft = Broadcast created (#{ $id }) and saved as a draft.
compose-created-scheduled = Broadcast created (#{ $id }). Scheduled for { $time } ({ $tz }).
compose-created-unsent = Broadcast created (#{ $id }) and kept as a draft: { $reason }
compose-discarded = The new broadcast was discarded; nothing was saved.
compose-stale = This button belongs to an old wizard message. Start again with /new.
