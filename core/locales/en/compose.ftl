# The compose wizard (/new). Values put into messages are HTML-escaped by the code.

target-all_students = All students
target-all_teachers = All teachers
target-all_tutors = All tutors
target-all_parents = All parents
target-by_class = By class
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

# The step the admin is on, counting only the steps of their path (4 for "All teachers",
# one more when a class, subject, person or list is picked, one more for the who question
# of a group of students); before the audience is chosen, no total.
compose-step-number = { $steps ->
        [0] step { $step }
       *[other] step { $step } of { $steps }
    }
compose-step-audience =
    <b>New broadcast</b> · { compose-step-number }
    Who should receive it?
compose-step-pick-by_class =
    <b>New broadcast</b> · { compose-step-number }
    Pick the class: next you choose whether its students, their parents or both receive the broadcast.
compose-step-pick-by_subject =
    <b>New broadcast</b> · { compose-step-number }
    Pick the subject: its teachers receive the broadcast, and next you choose whether its students, their parents or both do too.
compose-step-pick-by_tutor =
    <b>New broadcast</b> · { compose-step-number }
    Pick the tutor: next you choose whether their students, the students' parents or both receive the broadcast.
compose-step-pick-by_teacher =
    <b>New broadcast</b> · { compose-step-number }
    Pick the teacher: next you choose whether their students, the students' parents or both receive the broadcast.
compose-pick-search-hint = { $narrowing ->
        [by_class] Type part of the class's name to search (any case).
        [by_subject] Type part of the subject's name to search.
       *[other] Type part of the name to search.
    } The message itself comes after this step.
compose-pick-query = Search: «{ $query }»
compose-pick-found = Found: { $total } · page { $page } of { $pages }
compose-pick-nothing = Nothing found. Send another part of a name, or show all.
compose-pick-not-a-name = { $narrowing ->
        [by_class] This step only finds the class: type part of its name (one short line), or pick it above.
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

compose-step-who =
    <b>New broadcast</b> · { compose-step-number }
    { $group }: who should receive it?
compose-who-students = 🎒 Students
compose-who-parents = 👪 Their parents
compose-who-both = 🎒👪 Students and parents

# The audience in words; $include is who of the students: students, parents or both.
compose-audience-all_students = { $include ->
        [parents] Parents of all students
        [both] All students and their parents
       *[other] All students
    }
compose-audience-by_class = { $include ->
        [parents] Parents of students of { $name }
        [both] Students of { $name } and their parents
       *[other] Students of { $name }
    }
compose-audience-by_subject = { $include ->
        [parents] Teachers of { $name } and parents of its students
        [both] Students and teachers of { $name } and the students' parents
       *[other] Students and teachers of { $name }
    }
compose-audience-by_tutor = { $include ->
        [parents] Parents of students of tutor { $name }
        [both] Students of tutor { $name } and their parents
       *[other] Students of tutor { $name }
    }
compose-audience-by_teacher = { $include ->
        [parents] Parents of students of teacher { $name }
        [both] Students of teacher { $name } and their parents
       *[other] Students of teacher { $name }
    }
compose-audience-custom = { $include ->
        [parents] Parents of a custom list of { $count } { $count ->
            [one] user
           *[other] users
        }
        [both] Custom list of { $count } { $count ->
            [one] user
           *[other] users
        } and their parents
       *[other] Custom list of { $count } { $count ->
            [one] user
           *[other] users
        }
    }
compose-step-preview =
    <b>New broadcast</b> · { compose-step-number }
    Above is the message as recipients will see it.
compose-preview-audience = Audience: { $audience }
compose-preview-families = Audience: { $audience }: { $families } { $families ->
        [one] family
       *[other] families
    }, { $people } { $people ->
        [one] person
       *[other] people
    }; reachable { $reachable }
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
