"""Who may do what: the roles an API key carries. Apart from the tables so a client (the CLI) can
name a role without loading the database models."""

from enum import Enum


class Role(str, Enum):
    rights_holder = "rights_holder"
    platform = "platform"
    accountant = "accountant"
    arbiter = "arbiter"  # decides disputes, carries out upheld ones
    auditor = "auditor"  # reads every statement in full (amounts are private otherwise); writes nothing
    admin = "admin"


#: The roles that read every holder's amounts: whole statement documents, every entry, every balance.
BOOKS_ROLES = frozenset({Role.accountant, Role.admin, Role.auditor})
