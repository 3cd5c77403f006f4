"""`scaffold update`: merge template improvements (and changed answers) into projects.

flow.py is the update of one project; history.py reads the template branch; conflicts.py
names each conflict's kind; env_file.py moves .env along; batch.py runs several projects;
report.py prints it all.
"""

from scaffold.update.flow import changed_answers, commit_message, update_project
from scaffold.update.result import UpdateResult

__all__ = ["UpdateResult", "changed_answers", "commit_message", "update_project"]
