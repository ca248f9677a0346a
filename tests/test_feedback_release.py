"""Feedback of a submission that did not come through the exchange (zip files, mail):
`nbgrader release_feedback` must still work for the whole class, and a submission's own
timestamp and secret, when it has them, are the ones kept."""

from __future__ import annotations

import shutil

from cvbook.grading import course, feedback
import toy_course as toy  # the toy assignment: imported here only


def test_release_feedback_works_without_and_with_exchange_files(tmp_path):
    from nbgrader.api import Gradebook
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory

    root = toy.make_course(tmp_path / "course")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in ("zip", "exchanged"):
            gb.add_student(student)
            gb.add_submission(toy.ASSIGNMENT, student)
    for student in ("zip", "exchanged"):
        folder = root / "autograded" / student / toy.ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(root / "exercises" / toy.ASSIGNMENT / toy.NOTEBOOK, folder)
    exchanged = root / "autograded" / "exchanged" / toy.ASSIGNMENT
    (exchanged / "timestamp.txt").write_text("2026-10-05 16:59:00.000000 UTC")
    (exchanged / "submission_secret.txt").write_text("s3cret")

    pages = feedback.write_feedback(root, toy.ASSIGNMENT)
    assert len(pages) == 2
    out = root / "feedback" / "exchanged" / toy.ASSIGNMENT
    assert (out / "timestamp.txt").read_text() == "2026-10-05 16:59:00.000000 UTC"
    assert (out / "submission_secret.txt").read_text() == "s3cret"
    made = root / "feedback" / "zip" / toy.ASSIGNMENT
    assert (made / "timestamp.txt").read_text().strip() and len((made / "submission_secret.txt").read_text()) == 128

    config = course.course_config(root)
    config.CourseDirectory.assignment_id = toy.ASSIGNMENT
    coursedir = CourseDirectory(config=config)
    ExchangeFactory(config=config).ReleaseFeedback(coursedir=coursedir, authenticator=Authenticator(config=config),
                                                   config=config).start()
    released = sorted((root / "exchange" / "cvbook" / "feedback").glob("*.html"))
    assert len(released) == 2
    from nbgrader.utils import notebook_hash

    assert (root / "exchange" / "cvbook" / "feedback" /
            f"{notebook_hash(secret='s3cret', notebook_id='functions')}.html").is_file()
