# Who has not confirmed reading (/recipients ID unconfirmed and its button in the details)
# and the recipients CSV export. Values from users are escaped by the code.

details-btn-unconfirmed = 👀 Not confirmed ({ $count })
details-btn-export = 📄 Export CSV

unconfirmed-title = <b>Not confirmed: #{ $id }</b> · { $count ->
        [one] { $count } person got it and has not confirmed
       *[other] { $count } people got it and have not confirmed
    } · page { $page } of { $pages }
unconfirmed-item = 👀 { $name } · { $role }{ $reminders ->
        [0] {""}
       *[other] {" "}· 🔔 { $reminders }
    }
unconfirmed-empty = Nobody: everyone who got it has confirmed reading.
unconfirmed-btn-all = 👥 All recipients
error-confirmation-not-asked = Broadcast #{ $id } does not ask recipients to confirm reading, so there is no list of who has not.

role-student = student
role-teacher = teacher
role-tutor = tutor
role-parent = parent
role-admin = admin

csv-name = Name
csv-external-id = School ID
csv-role = Role
csv-delivered-at = Delivered at ({ $tz })
csv-confirmed-at = Confirmed at ({ $tz })
csv-error = Error
export-caption = Recipients of broadcast #{ $id }: { $count ->
        [one] { $count } row
       *[other] { $count } rows
    }, times in { $tz }.
