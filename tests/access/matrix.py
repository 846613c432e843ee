# ruff: noqa: E501 - the table reads best with one row per route, each row a line
"""Who may do what, route by route: the policy of /work/shared/ROLES.md as one table.

Every route of the application has exactly one row: its method and path template, then the
expected outcome for each actor, in the column order of ``ACTORS``:

    admin     the municipal administrator (Copenhagen)
    lead_in   the district lead of D01 and D03, acting on an object in D01 (their own)
    lead_out  the same district lead, acting on an object in D02 (not theirs); for an emergency
              key: the citizen or the employee is in D02 (each is tried)
    auditor   Copenhagen's auditor
    care      a care worker            (cannot obtain office credentials at all)
    inst      an installer             (signs in since issue 16: only the orders assigned to them)
    other     Frederiksberg's administrator, acting on Copenhagen's object

    The other parties (issue 15; ``tests.access.world_orgs``), all of Copenhagen:

    assoc       the user of housing association A, acting on A's own object (A's property,
                entrance, gate, agreement with P, A's partner log); on a municipal route, on
                the same probe object as everyone else (D01's)
    assoc_out   the same association user, acting on housing association B's object (B is
                another association in Copenhagen, with its agreement with Q)
    padmin      the partner administrator of company P, acting on P's own object (P's
                workers, phones, agreement with A)
    padmin_out  the same partner administrator, acting on company Q's object
    pworker     a partner worker of P: the key app only, like a care worker (cannot obtain
                office credentials at all: ``refused`` where care workers are)

    anon      no credentials

The municipality's own routes are for its own staff: to the people of a housing association or
a partner company every one of them is ``deny`` (403, or 404 where the object is the
municipality's), the start page ``/`` aside, which sends them to their own portal.

The outcomes:

    allow    authorised: 2xx, or a redirect that is not to /login; a change with a valid body
             succeeds and is seen in the database; a list or page shows the probe object
    hidden   authorised to ask (2xx), but the probe object must not be in the answer
    deny     403 or 404 (404 where existence itself must not leak); a change leaves the
             database as it was; the page does not show the object
    unauth   401 from the API; from the web, 401 or a redirect to /login; nothing changes
    refused  deny or unauth, either is right: for those who cannot be office users at all
    device   a key-app route: office tokens and cookies confer nothing; 4xx, nothing changes
    public   for everyone: 2xx or 3xx
    nowrite  may answer (never 5xx), but nothing is written: a form that refuses row by row

A new route needs a line here (one cell per column, in this order) and a recipe: in
``tests/access/recipes.py``, or for a part of its own in a module ``recipes_<part>.py`` that
registers with ``@recipe(method, path)`` and is imported at the end of ``recipes.py`` (as
``recipes_orgs``). A recipe aims at ``ctx.side`` (the districts' probes) or ``ctx.org`` (the
organisations' probes: ``world_orgs.OrgSide``), gives a ``marker`` for a read and an ``effect``
for a change.

Where ROLES.md is silent, the choice and its reason is in a comment above the row. "(no object)"
means the request names nothing of a district, so lead_out makes the same request as lead_in.
"""

from __future__ import annotations

from enum import StrEnum

from tests.access.world import ACTORS, ActorName


class Outcome(StrEnum):
    """What a request must come to; see the module's docstring."""

    ALLOW = "allow"
    HIDDEN = "hidden"
    DENY = "deny"
    UNAUTH = "unauth"
    REFUSED = "refused"
    DEVICE = "device"
    PUBLIC = "public"
    NOWRITE = "nowrite"


_TABLE = """
#                                                     admin   lead_in lead_out auditor care    inst    other   assoc   assoc_out padmin  padmin_out pworker anon
# --- public: documentation, health, language, signing in and out --------------------------------
GET    /openapi.json                                  public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /docs                                          public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /redoc                                         public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /favicon.ico                                   public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /healthz                                       public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /readyz                                        public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /lang/{language}                               public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /login                                         public  public  public   public  public  public  public  public  public    public  public     public  public
GET    /login/totp                                    public  public  public   public  public  public  public  public  public    public  public     public  public
POST   /logout                                        public  public  public   public  public  public  public  public  public    public  public     public  public
# Signing in: office people get in (other: into their own municipality; an association's user
# and a partner administrator too, into their organisation's portal); care workers, installers
# and partner workers never get office credentials; a wrong password is 401.
POST   /api/v1/auth/token                             allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
POST   /login                                         allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
POST   /login/totp                                    allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
# Signing an API token out: needs a live token (care workers' forged ones name no session).
POST   /api/v1/auth/logout                            allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
#
# --- accounts (issue 18, docs/accounts.md) ----------------------------------------------------
# accounts.manage: administrators; a lead for the non-administrators of their own districts.
POST   /api/v1/admin/employees/{employee_id}/one-time-password allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/employees/{employee_id}/password-link  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/employees/{employee_id}/totp-reset  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
# --- web UI: the same, from the employee's page -------------------------------------------------
POST   /employees/{employee_id}/one-time-password     allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /employees/{employee_id}/password-link         allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /employees/{employee_id}/reset-authenticator   allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /employees/{employee_id}/reset-authenticator   allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
# A set-password link is the credential: the page is for whoever holds it (signed in or not).
GET    /set-password/{token}                          public  public  public   public  public  public  public  public  public    public  public     public  public
POST   /set-password/{token}                          public  public  public   public  public  public  public  public  public    public  public     public  public
# One's own password: every office user, for themselves (no object).
GET    /account/password                              allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
POST   /account/password                              allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
# The forced change after a one-time password: only after password and TOTP (a pending
# cookie); without one the page sends back to /login.
GET    /login/new-password                            public  public  public   public  public  public  public  public  public    public  public     public  public
POST   /login/new-password                            allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
#
# --- the key app: authenticated by the phone's device key, never by an office role -------------
POST   /api/v1/app/enrol                              device  device  device   device  device  device  device  device  device    device  device     device  device
# A challenge is a server-signed nonce for the phone to sign; it names no data (the same answer
# for a phone that does not exist), so anyone may ask for one.
POST   /api/v1/app/challenge                          public  public  public   public  public  public  public  public  public    public  public     public  public
POST   /api/v1/app/login                              device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/bundle                             device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/heartbeat                          device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/time-token                         device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/events                             device  device  device   device  device  device  device  device  device    device  device     device  device
#
# --- administration API: employees ---------------------------------------------------------------
# ROLES.md: auditors see employees and phones (all own, read); leads create and edit employees of
# their own districts (not administrators); leads block and unblock in their own districts.
GET    /api/v1/admin/employees                        allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/employees                        allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/employees/{employee_id}          allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
PATCH  /api/v1/admin/employees/{employee_id}          allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/employees/{employee_id}/block    allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/employees/{employee_id}/unblock  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- phones ------------------------------------------------------------------------------------
GET    /api/v1/admin/phones                           allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# Silent in ROLES.md: registering, re-assigning and enrolling phones. A phone carries keys and
# belongs to the municipality's device register, so administrators only.
POST   /api/v1/admin/phones                           allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/phones/{phone_id}                allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
PATCH  /api/v1/admin/phones/{phone_id}                allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/phones/{phone_id}/block          allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/phones/{phone_id}/unblock        allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/phones/{phone_id}/enrolment-code allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- districts: only administrators create or change them (the municipality's organisation) ----
# Silent in ROLES.md: seeing districts. A lead sees their own; an auditor reads everything.
GET    /api/v1/admin/districts                        allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# Frederiksberg's administrator creates a district in Frederiksberg (checked: nothing of
# Copenhagen's); the request names nothing of Copenhagen's.
POST   /api/v1/admin/districts                        allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/districts/{district_id}          allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
PATCH  /api/v1/admin/districts/{district_id}          allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- citizens ----------------------------------------------------------------------------------
# ROLES.md: auditors see citizens and addresses (read); leads add citizens and remove addresses
# in their own districts. Silent: editing a citizen and undoing a removal; a lead "runs their
# districts' citizens", so the same as adding and removing: own districts.
GET    /api/v1/admin/citizens                         allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/citizens                         allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/citizens/{citizen_id}            allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
PATCH  /api/v1/admin/citizens/{citizen_id}            allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/citizens/{citizen_id}/remove     allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/citizens/{citizen_id}/restore    allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- consent and the associations' permission (issue 16) ---------------------------------------
# ROLES.md: consent is the administrator's, a lead's in own districts, read by the auditor.
# Permission requests are the municipality's to send and remind (administrators); a lead sees
# those on the way to their citizens, the auditor reads them; the association answers in its
# own portal, never here.
GET    /api/v1/admin/citizens/{citizen_id}/consents   allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/citizens/{citizen_id}/consents   allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/consents/{consent_id}/withdraw   allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/permission-requests              allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/permission-requests              allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/permission-requests/{request_id}/remind allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- doors -------------------------------------------------------------------------------------
# Silent in ROLES.md: the door devices. They are the doors of the citizens' homes, so they follow
# the citizens: a lead sees those of their own districts' citizens, an auditor reads them all.
GET    /api/v1/admin/doors                            allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/doors/{door_id}                  allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- work orders, costs and timelines (issue 16) -------------------------------------------------
# The office manages orders (a lead in own districts), only an administrator signs off, only the
# assigned installer completes; an installer sees only their own orders; an association sees only
# module orders on its own properties (the probe is a home's order: hidden); costs for those who
# read costs. A property's timeline: the office (a lead only on the way to own citizens), and the
# property's own association.
GET    /api/v1/admin/work-orders                      allow   allow   hidden   allow   refused allow   hidden  hidden  hidden    deny    deny       refused unauth
POST   /api/v1/admin/work-orders                      allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/work-orders/{order_id}           allow   allow   deny     allow   refused allow   deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/work-orders/{order_id}/assign    allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/work-orders/{order_id}/schedule  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/work-orders/{order_id}/complete  deny    deny    deny     deny    refused allow   deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/work-orders/{order_id}/sign-off  allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/work-orders/{order_id}/cancel    allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/costs                            allow   allow   allow    allow   refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/citizens/{citizen_id}/timeline   allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/properties/{property_id}/timeline allow  deny    deny     allow   refused deny    deny    allow   deny      deny    deny       refused unauth
#
# --- emergency keys: a lead only when the citizen AND the employee are in their own districts ---
# (and sees or revokes only such keys); auditors read them all and change nothing.
GET    /api/v1/admin/emergency-keys                   allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/emergency-keys                   allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/emergency-keys/{grant_id}        allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/admin/emergency-keys/{grant_id}/revoke allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- logs --------------------------------------------------------------------------------------
# Silent in ROLES.md: the log of administrative actions (who changed what). It spans every
# district and is the auditors' material: administrators and auditors, not leads.
GET    /api/v1/admin/actions                          allow   deny    deny     allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# The audit log and its export: a lead sees their own districts' doors. (ROLES.md gives care
# workers and installers their own actions and orders; not through the office routes, which
# they cannot use at all.)
GET    /api/v1/admin/audit                            allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/audit.csv                        allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
#
# --- the installer's key-app routes (issue 16): the phone's app session and device key -------
# An installer's orders, the key to an order's door and the reports of commissioning and
# decommissioning are the key app's, authenticated like the other /api/v1/app routes; office
# tokens and cookies confer nothing. (Who gets what with an app session: tests/installer.)
GET    /api/v1/app/installer/orders                   device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/installer/credential               device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/installer/time-token               device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/installer/commissioned             device  device  device   device  device  device  device  device  device    device  device     device  device
POST   /api/v1/app/installer/decommissioned           device  device  device   device  device  device  device  device  device    device  device     device  device
#
# --- web UI: overview --------------------------------------------------------------------------
# The start page sends each signed-in person on: the dashboard, the audit log, or for an
# association's user and a partner administrator their own portal (/association, /partner).
GET    /                                              allow   allow   allow    allow   refused allow   allow   allow   allow     allow   allow      refused unauth
# Silent in ROLES.md: the dashboard (today's figures, doors that need attention). It is read
# only; auditors read everything of their municipality (no object).
GET    /dashboard                                     allow   allow   allow    allow   refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /doors                                         allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
GET    /doors/{door_id}                               allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: work orders, costs and timelines (issue 16; the same policy as the API) ----------
GET    /work-orders                                   allow   allow   hidden   allow   refused allow   hidden  hidden  hidden    deny    deny       refused unauth
POST   /work-orders                                   allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /work-orders/new                               allow   allow   allow    deny    refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /work-orders/{order_id}                        allow   allow   deny     allow   refused allow   deny    deny    deny      deny    deny       refused unauth
POST   /work-orders/{order_id}/assign                 allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /work-orders/{order_id}/schedule               allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /work-orders/{order_id}/complete               deny    deny    deny     deny    refused allow   deny    deny    deny      deny    deny       refused unauth
POST   /work-orders/{order_id}/sign-off               allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /work-orders/{order_id}/cancel                 allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /costs                                         allow   allow   allow    allow   refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /costs.csv                                     allow   allow   allow    allow   refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /costs.xlsx                                    allow   allow   allow    allow   refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /citizens/{citizen_id}/timeline                allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /properties/{property_id}/timeline             allow   deny    deny     allow   refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /audit                                         allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
GET    /audit.csv                                     allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
GET    /audit.xlsx                                    allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# ROLES.md: the "who was in this home" report: all own for administrators and auditors (it is
# the auditor's job, issue 18), own districts' doors for leads. Every opening is itself logged
# (admin_action "audit.home_report_viewed", the citizen as target: tests/web/test_audit_search.py);
# a refused one is not.
GET    /citizens/{citizen_id}/report                  allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: pickers (suggestions while filling in the emergency-key form) ----------------------
# Silent in ROLES.md: they serve the forms that change things; auditors change nothing and read
# through the lists, so they get no pickers.
GET    /pickers/employees                             allow   allow   hidden   deny    refused deny    hidden  deny    deny      deny    deny       refused unauth
GET    /pickers/citizens                              allow   allow   hidden   deny    refused deny    hidden  deny    deny      deny    deny       refused unauth
#
# --- web UI: employees (the same policy as the API; forms that change are not for auditors) ----
GET    /employees                                     allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# The form for a new employee (no object).
GET    /employees/new                                 allow   allow   allow    deny    refused deny    allow   deny    deny      deny    deny       refused unauth
POST   /employees/new                                 allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
# ROLES.md: leads import staff of their own districts. The import form names nothing (no
# object). The file is judged row by row: a row of another district (or, for Frederiksberg, a
# district code Frederiksberg does not have) must be rejected and nothing written.
GET    /employees/import                              allow   allow   allow    deny    refused deny    allow   deny    deny      deny    deny       refused unauth
POST   /employees/import                              allow   allow   nowrite  deny    refused deny    nowrite deny    deny      deny    deny       refused unauth
POST   /employees/import/confirm                      allow   allow   nowrite  deny    refused deny    nowrite deny    deny      deny    deny       refused unauth
# The import's table of job titles to roles (issue 18): the administrator's (Action
# MANAGE_JOB_TITLES), municipality-wide; a lead imports with it but does not edit it.
# Frederiksberg's administrator sees and edits only Frederiksberg's table.
GET    /employees/job-titles                          allow   deny    deny     deny    refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /employees/job-titles                          allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
POST   /employees/job-titles/{row_id}/delete          allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /employees/{employee_id}                       allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /employees/{employee_id}/edit                  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /employees/{employee_id}/edit                  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /employees/{employee_id}/block                 allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /employees/{employee_id}/block                 allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /employees/{employee_id}/unblock               allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: phones (registering, changing and enrolling: administrators, as in the API) --------
GET    /phones                                        allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# The form for a new phone (no object): Frederiksberg's administrator registers their own.
GET    /phones/new                                    allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
POST   /phones/new                                    allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /phones/{phone_id}                             allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /phones/{phone_id}/edit                        allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /phones/{phone_id}/edit                        allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
# ROLES.md also lets a care worker report their own phone lost; they do that through the key
# app or by calling the office, never through the office UI, which they cannot sign in to.
POST   /phones/{phone_id}/lost                        allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /phones/{phone_id}/block                       allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /phones/{phone_id}/block                       allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /phones/{phone_id}/unblock                     allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /phones/{phone_id}/enrol                       allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: districts ---------------------------------------------------------------------------
GET    /districts                                     allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /districts                                     allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /districts/{district_id}                       allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /districts/{district_id}                       allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: citizens ----------------------------------------------------------------------------
GET    /citizens                                      allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
# The form for a new citizen (no object).
GET    /citizens/new                                  allow   allow   allow    deny    refused deny    allow   deny    deny      deny    deny       refused unauth
POST   /citizens/new                                  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /citizens/{citizen_id}                         allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /citizens/{citizen_id}                         allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /citizens/{citizen_id}/remove                  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /citizens/{citizen_id}/remove                  allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /citizens/{citizen_id}/restore                 allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: consent and the associations' permission (the same policy as the API) -------------
GET    /citizens/{citizen_id}/consents                allow   allow   deny     allow   refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /citizens/{citizen_id}/consents                allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /consents/{consent_id}/withdraw                allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /permissions                                   allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /permissions                                   allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /permissions/{request_id}/remind               allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: emergency keys ----------------------------------------------------------------------
GET    /emergency-keys                                allow   allow   hidden   allow   refused deny    hidden  deny    deny      deny    deny       refused unauth
POST   /emergency-keys                                allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /emergency-keys/{grant_id}/revoke              allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- the register of housing associations and partner companies (issue 15) --------------------
# The municipality registers the other parties: administrators register, create their first
# users and block a company (organisations.manage); auditors read it all. Leads have nothing of
# it (ROLES.md gives them no part in agreements). An association's user reads its own
# association and the register of companies (to choose partners: assoc_out sees Q too); a
# partner administrator reads its own company and the associations it has agreements with (A,
# through the agreement A-P; B is Q's). Neither may change the register. Frederiksberg's
# administrator registers into Frederiksberg (the request names nothing of Copenhagen's) and
# gets 404 for Copenhagen's association or company.
GET    /api/v1/organisations/associations             allow   deny    deny     allow   refused deny    hidden  allow   hidden    allow   hidden     refused unauth
POST   /api/v1/organisations/associations             allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /api/v1/organisations/associations/{association_id} allow   deny    deny     allow   refused deny    deny    allow   deny      allow   deny       refused unauth
POST   /api/v1/organisations/associations/{association_id}/users allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/organisations/companies                allow   deny    deny     allow   refused deny    hidden  allow   allow     allow   hidden     refused unauth
POST   /api/v1/organisations/companies                allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /api/v1/organisations/companies/{company_id}   allow   deny    deny     allow   refused deny    deny    allow   allow     allow   deny       refused unauth
POST   /api/v1/organisations/companies/{company_id}/admins allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
# Blocking a company stops its workers' keys in the whole municipality: administrators only (an
# association blocks its own agreement with a company instead: agreements.manage).
POST   /api/v1/organisations/companies/{company_id}/block allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /api/v1/organisations/companies/{company_id}/unblock allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- web UI: the register (the same policy as the API) -----------------------------------------
GET    /organisations                                 allow   deny    deny     allow   refused deny    hidden  allow   hidden    allow   hidden     refused unauth
POST   /organisations/associations                    allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
POST   /organisations/companies                       allow   deny    deny     deny    refused deny    allow   deny    deny      deny    deny       refused unauth
GET    /organisations/associations/{association_id}   allow   deny    deny     allow   refused deny    deny    allow   deny      allow   deny       refused unauth
POST   /organisations/associations/{association_id}/users allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /organisations/companies/{company_id}          allow   deny    deny     allow   refused deny    deny    allow   allow     allow   deny       refused unauth
POST   /organisations/companies/{company_id}/admins   allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /organisations/companies/{company_id}/block    allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
POST   /organisations/companies/{company_id}/unblock  allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
#
# --- the partner company's errands and its log of its own staff's openings (issue 15) --------
# The errands and the log are the company's alone (errands.request, partner_log.read with the
# company's scope): the municipality reads partner openings in its own audit log and an
# association in its portal, so here both get 403. Aimed at company Q's agreement or errand, P's
# administrator gets 404, and Q's things are never in P's lists. The form for a new errand names
# nothing (no object): it offers P's own agreements' entrances only.
POST   /api/v1/partner/errands                        deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
GET    /api/v1/partner/errands                        deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden     refused unauth
GET    /api/v1/partner/errands/{errand_id}            deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
POST   /api/v1/partner/errands/{errand_id}/cancel     deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
GET    /api/v1/partner/log                            deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden     refused unauth
GET    /partner/errands                               deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden     refused unauth
GET    /partner/errands/new                           deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden     refused unauth
POST   /partner/errands/new                           deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
GET    /partner/errands/{errand_id}                   deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
GET    /partner/errands/{errand_id}/cancel            deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
POST   /partner/errands/{errand_id}/cancel            deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny       refused unauth
GET    /partner/log                                   deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden     refused unauth
GET    /partner/log.csv                               deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden     refused unauth
#
# --- the housing association's portal (issue 15) -------------------------------------------
# ROLES.md: the association's user decides about its own properties' entrances and gates: the
# portal is theirs alone. The municipality's staff read associations and agreements through the
# register (above), never through the portal (403); a partner company has its own portal. Aimed
# at association B's things, A's user gets 404, and B's things are never in A's lists. The
# company register is the municipality's list of approved companies (public facts), so A's user
# sees Q there too; blocking is of A's own agreements, so Q (no agreement with A) is 404.
GET    /api/v1/association/properties                 deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
GET    /api/v1/association/properties/{property_id}   deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /api/v1/association/permission-requests        deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
GET    /api/v1/association/permission-requests/{request_id} deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/association/permission-requests/{request_id}/answer deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /api/v1/association/companies                  deny    deny    deny     deny    refused deny    deny    allow   allow     deny    deny       refused unauth
POST   /api/v1/association/companies/{company_id}/block deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/association/companies/{company_id}/unblock deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /api/v1/association/agreements                 deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
POST   /api/v1/association/agreements                 deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /api/v1/association/agreements/{agreement_id}  deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
PATCH  /api/v1/association/agreements/{agreement_id}  deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/association/agreements/{agreement_id}/end deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /api/v1/association/log                        deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
GET    /api/v1/association/log.csv                    deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
# --- web UI: the portal (the same policy as the API) -------------------------------------------
# The form for a new agreement names nothing (no object): it offers A's own entrances only.
GET    /association                                   deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
POST   /association/permissions/{request_id}          deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /association/agreements                        deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
GET    /association/agreements/new                    deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
POST   /association/agreements/new                    deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /association/agreements/{agreement_id}         deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /association/agreements/{agreement_id}/edit    deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /association/agreements/{agreement_id}/edit    deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /association/agreements/{agreement_id}/end     deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /association/companies/{company_id}/block      deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /association/companies/{company_id}/block      deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /association/companies/{company_id}/unblock    deny    deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /association/log                               deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
GET    /association/log.csv                           deny    deny    deny     deny    refused deny    deny    allow   hidden    deny    deny       refused unauth
# --- signed webhooks (issue 17, docs/webhooks.md) ------------------------------------------------
# Silent in ROLES.md. A municipal administrator manages the municipality's subscriptions and
# replays deliveries; the auditor reads them (the integration is part of what is audited);
# district leads and installers have nothing to do with them. A housing association's user
# manages the association's own subscriptions (its entrances' and gates' events) through the
# same routes: B's subscription is 404 to A's user and never in A's lists. Creating names no
# object: Frederiksberg's administrator and assoc_out create their own. A partner company has
# no webhooks (yet).
GET    /api/v1/webhooks/subscriptions                 allow   deny    deny     allow   refused deny    hidden  allow   hidden    deny    deny       refused unauth
POST   /api/v1/webhooks/subscriptions                 allow   deny    deny     deny    refused deny    allow   allow   allow     deny    deny       refused unauth
GET    /api/v1/webhooks/subscriptions/{subscription_id} allow   deny    deny     allow   refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/webhooks/subscriptions/{subscription_id}/rotate allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/webhooks/subscriptions/{subscription_id}/disable allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/webhooks/subscriptions/{subscription_id}/enable allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
DELETE /api/v1/webhooks/subscriptions/{subscription_id} allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /api/v1/webhooks/deliveries                    allow   deny    deny     allow   refused deny    hidden  allow   hidden    deny    deny       refused unauth
GET    /api/v1/webhooks/deliveries/{delivery_id}      allow   deny    deny     allow   refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /api/v1/webhooks/deliveries/{delivery_id}/replay allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
# --- web UI: signed webhooks (the same policy as the API) --------------------------------------
GET    /webhooks                                      allow   deny    deny     allow   refused deny    hidden  allow   hidden    deny    deny       refused unauth
POST   /webhooks                                      allow   deny    deny     deny    refused deny    allow   allow   allow     deny    deny       refused unauth
POST   /webhooks/{subscription_id}/rotate             allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /webhooks/{subscription_id}/disable            allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /webhooks/{subscription_id}/enable             allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
POST   /webhooks/{subscription_id}/delete             allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
GET    /webhooks/deliveries                           allow   deny    deny     allow   refused deny    hidden  allow   hidden    deny    deny       refused unauth
POST   /webhooks/deliveries/{delivery_id}/replay      allow   deny    deny     deny    refused deny    deny    allow   deny      deny    deny       refused unauth
# --- the right of access, GDPR art. 15 (issue 19, docs/access-report.md) -----------------------
# Silent in ROLES.md. Making a report hands personal data to the person asking: an
# administrative act, not a read of the log. privacy.access_report (a citizen's report):
# administrators, and a district lead for the citizens of their own districts (the report covers
# only that home's lock). privacy.employee_report (everything about one employee, across every
# district and the administration's log): administrators only. The auditor reads the log of the
# reports made, and never makes one. Another party's people never: deny.
GET    /api/v1/admin/citizens/{citizen_id}/access-report allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /api/v1/admin/employees/{employee_id}/data-export allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /citizens/{citizen_id}/access-report           allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /citizens/{citizen_id}/access-report.json      allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /citizens/{citizen_id}/access-report.csv       allow   allow   deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /employees/{employee_id}/data                  allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
GET    /employees/{employee_id}/data.json             allow   deny    deny     deny    refused deny    deny    deny    deny      deny    deny       refused unauth
# "Mine data": every municipal office user, about themselves (no object). An association's user
# or a partner administrator asks their own organisation, which is the controller of their data.
GET    /account/data                                  allow   allow   allow    allow   refused allow   allow   deny    deny      deny    deny       refused unauth
GET    /account/data.json                             allow   allow   allow    allow   refused allow   allow   deny    deny      deny    deny       refused unauth
# --- the partner company's portal (issue 15) ---------------------------------------------------
# ROLES.md: the company's administrator manages its own staff and phones (partner_staff.manage)
# and sees its agreements. The portal is the company's alone: the municipality's staff read a
# company and its people through the register (/organisations) and get 403 here, as in the
# association's portal; a partner worker has no office credentials. Aimed at company Q's
# worker or phone, P's administrator gets 404, and Q's are never in P's lists. Creating a
# person names nothing of Q (no object): padmin_out creates one of P's, like padmin.
GET    /api/v1/partner                                deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden       refused unauth
GET    /api/v1/partner/agreements                     deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden       refused unauth
GET    /api/v1/partner/workers                        deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden       refused unauth
POST   /api/v1/partner/workers                        deny    deny    deny     deny    refused deny    deny    deny    deny      allow   allow        refused unauth
POST   /api/v1/partner/workers/{employee_id}/password deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /api/v1/partner/workers/{employee_id}/block    deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /api/v1/partner/workers/{employee_id}/unblock  deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
GET    /api/v1/partner/phones                         deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden       refused unauth
# A new phone is registered to the side's worker: Q's worker is 404 to P's administrator.
POST   /api/v1/partner/phones                         deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /api/v1/partner/phones/{phone_id}/holder       deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /api/v1/partner/phones/{phone_id}/enrolment-code deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /api/v1/partner/phones/{phone_id}/block        deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /api/v1/partner/phones/{phone_id}/unblock      deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
# --- web UI: the company's portal (the same policy as the API) ---------------------------------
GET    /partner                                       deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden       refused unauth
GET    /partner/staff                                 deny    deny    deny     deny    refused deny    deny    deny    deny      allow   hidden       refused unauth
POST   /partner/workers                               deny    deny    deny     deny    refused deny    deny    deny    deny      allow   allow        refused unauth
POST   /partner/workers/{employee_id}/password        deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/workers/{employee_id}/block           deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/workers/{employee_id}/unblock         deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/phones                                deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/phones/{phone_id}/holder              deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/phones/{phone_id}/enrolment-code      deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/phones/{phone_id}/block               deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
POST   /partner/phones/{phone_id}/unblock             deny    deny    deny     deny    refused deny    deny    deny    deny      allow   deny         refused unauth
"""

Route = tuple[str, str]
Line = dict[ActorName, Outcome]


def _parse(table: str) -> dict[Route, Line]:
    lines: dict[Route, Line] = {}
    for number, raw in enumerate(table.splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        method, path, *cells = text.split()
        if len(cells) != len(ACTORS):
            raise ValueError(f"matrix line {number}: {len(cells)} outcomes, not {len(ACTORS)}")
        if (method, path) in lines:
            raise ValueError(f"matrix line {number}: {method} {path} appears twice")
        lines[(method, path)] = {
            actor: Outcome(cell) for actor, cell in zip(ACTORS, cells, strict=True)
        }
    return lines


MATRIX: dict[Route, Line] = _parse(_TABLE)
