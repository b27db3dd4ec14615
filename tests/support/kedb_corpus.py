"""A realistic known-error database for ranking tests: what a service desk writes down.

Several entries are near-duplicates on purpose (four VPN problems, four Outlook problems,
three printer problems, three disk-full problems...), so the right one is first only if the
ranking weighs the words that tell them apart.
"""

from __future__ import annotations

from typing import Any

from domain.kedb import KnownErrorCreate


def _ke(
    title: str,
    symptoms: str,
    category: str,
    service: str,
    workaround: str,
    root_cause: str | None = None,
    **extra: Any,
) -> KnownErrorCreate:
    return KnownErrorCreate(
        title=title,
        symptoms=symptoms,
        category=category,
        service=service,
        workaround=workaround,
        root_cause=root_cause,
        **extra,
    )


# The key names each known error for the tests; ids follow the insertion order.
CORPUS: dict[str, KnownErrorCreate] = {
    # --- VPN ----------------------------------------------------------------------------------
    "vpn-idle-drop": _ke(
        "GlobalProtect VPN disconnects every few minutes on home broadband",
        "Remote users lose the VPN tunnel every 5 to 10 minutes; GlobalProtect shows "
        "'Disconnected' then reconnects. Happens on consumer routers with aggressive NAT timeouts.",
        "network",
        "vpn",
        "Switch the GlobalProtect client to 'SSL only' under Settings > Advanced, or use a "
        "wired connection. Reconnect after the change.",
        "Home routers drop idle IPSec NAT mappings after 60 s; the keepalive interval is 120 s.",
    ),
    "vpn-cert-expired": _ke(
        "VPN client refuses to connect: machine certificate expired",
        "GlobalProtect fails with 'Valid client certificate is required' on laptops that have "
        "not been on the corporate network for over 90 days.",
        "network",
        "vpn",
        "Connect the laptop to the office LAN or run 'gpupdate /force' and 'certutil -pulse' "
        "over a wired guest connection to re-enrol the machine certificate.",
        "Machine certificates auto-renew only when the device reaches a domain controller.",
    ),
    "vpn-split-dns": _ke(
        "VPN connected but internal websites do not open",
        "VPN shows connected, yet intranet addresses such as wiki.corp.local time out or are "
        "'not found'. Public websites work. Seen after the new DNS suffix rollout.",
        "network",
        "vpn",
        "Add corp.local to the DNS suffix search list (ipconfig /all to check) or browse by the "
        "full name. Disconnect and reconnect the VPN to pick up the pushed DNS servers.",
        "Split-DNS profile on the gateway does not push the corp.local suffix to macOS clients.",
    ),
    "vpn-mfa-loop": _ke(
        "VPN login keeps asking for the MFA code again",
        "After entering the one-time passcode the VPN portal returns to the password prompt; "
        "users end up locked out after several attempts.",
        "network",
        "vpn",
        "Use the push notification instead of the typed code, and check the phone's clock is "
        "set automatically.",
        "Time-based codes are rejected when the phone clock drifts more than 30 seconds.",
    ),
    # --- Outlook and mail ------------------------------------------------------------------
    "outlook-password-change": _ke(
        "Outlook stuck on 'Trying to connect' after a password change",
        "After the user changes their Windows password Outlook shows 'Disconnected' or "
        "'Trying to connect...' in the status bar and keeps prompting for credentials.",
        "software",
        "email",
        "Open Credential Manager, remove the saved MicrosoftOffice credentials, restart Outlook "
        "and sign in with the new password.",
        "Outlook caches the old credential and modern authentication token.",
    ),
    "outlook-search": _ke(
        "Outlook search returns no results for recent mail",
        "Searching the mailbox finds nothing newer than a few weeks, or says 'We couldn't find "
        "what you were looking for'. Messages are visible in the folders.",
        "software",
        "email",
        "Control Panel > Indexing Options > Advanced > Rebuild. Leave the laptop on for the "
        "index to finish.",
        "Windows Search index corrupted after the feature update.",
    ),
    "outlook-shared-mailbox": _ke(
        "Shared mailbox does not appear in Outlook after access is granted",
        "User was given Full Access to a team shared mailbox but it is not listed in the Outlook "
        "folder pane, even after restarting Outlook.",
        "software",
        "email",
        "Wait up to 60 minutes for automapping, or add it manually: File > Account Settings > "
        "Change > More Settings > Advanced > Add.",
        "Automapping runs only when permissions are granted by the Exchange admin centre.",
    ),
    "outlook-addin-crash": _ke(
        "Outlook crashes at startup after the CRM add-in update",
        "Outlook closes a few seconds after opening, or shows 'Outlook has stopped working'. "
        "Safe mode (outlook.exe /safe) starts normally.",
        "software",
        "email",
        "Start in safe mode, File > Options > Add-ins > COM Add-ins, untick the CRM add-in.",
        "CRM add-in 4.2 is incompatible with the Current Channel build of Office.",
    ),
    "mailbox-quota": _ke(
        "Mailbox full: cannot send or receive e-mail",
        "Users receive 'Your mailbox is almost full' warnings, then messages bounce back to "
        "senders and outgoing mail stays in the Outbox.",
        "software",
        "email",
        "Empty Deleted Items, move large attachments to OneDrive, or enable the online archive "
        "for the mailbox.",
        "50 GB mailbox quota reached.",
    ),
    "mobile-mail-sync": _ke(
        "E-mail on iPhone stopped syncing after the MDM migration",
        "The native iOS Mail app shows 'Cannot Get Mail' or old messages only; the calendar on "
        "the phone is also out of date.",
        "mobile",
        "email",
        "Remove the Exchange account from the phone and set up Outlook for iOS from the company "
        "portal.",
        "Exchange ActiveSync is blocked for devices enrolled in the new MDM.",
    ),
    "calendar-duplicates": _ke(
        "Meeting invitations appear twice in the calendar",
        "Every meeting the user accepts shows up twice; deleting one removes both. Happens for "
        "users with a delegate.",
        "software",
        "email",
        "Delegate should not also process invitations: set 'Send meeting requests to my delegate "
        "only' in Outlook delegate settings.",
    ),
    "smtp-scan-to-email": _ke(
        "Scan to e-mail fails on multifunction printers",
        "Scanning to e-mail on the MFPs gives 'SMTP authentication error' or 'Send failed'. "
        "Scan to folder still works.",
        "hardware",
        "printing",
        "Scan to the network folder, or to USB, until the relay is fixed.",
        "Basic SMTP authentication was disabled in Microsoft 365; MFPs must use the SMTP relay.",
    ),
    # --- printing -----------------------------------------------------------------------------
    "print-spooler": _ke(
        "Print jobs stuck in the queue, nothing prints",
        "Documents sit in the print queue with status 'Printing' or 'Error' and never come out "
        "of the printer. Other users on the same printer are affected.",
        "hardware",
        "printing",
        "On the print server restart the Print Spooler service and delete the stuck job from "
        "C:\\Windows\\System32\\spool\\PRINTERS.",
        "A corrupt job blocks the spooler queue.",
    ),
    "print-garbage": _ke(
        "Printer prints pages of random characters",
        "Printing produces many pages of garbled symbols and code instead of the document, "
        "wasting paper.",
        "hardware",
        "printing",
        "Cancel the job, then switch the printer to the PCL6 universal driver.",
        "The PostScript driver was pushed to printers without the PostScript module.",
    ),
    "print-badge": _ke(
        "Follow-me printing: badge not recognised at the printer",
        "Tapping the ID badge on the printer's card reader shows 'Card not registered' and the "
        "released jobs are not shown.",
        "hardware",
        "printing",
        "Log in at the printer with username and PIN, then register the card from the prompt.",
        "New badges are not synced to the print management system until the nightly import.",
    ),
    "print-jam-tray2": _ke(
        "Repeated paper jams in tray 2 on Ricoh MFPs",
        "The multifunction printer reports a paper jam in tray 2 several times a day; removing "
        "the paper clears it until the next jam.",
        "hardware",
        "printing",
        "Use tray 1 and log a service call with the vendor for roller replacement.",
        "Worn pickup roller in tray 2.",
    ),
    # --- identity, SSO, MFA -------------------------------------------------------------------
    "sso-redirect-loop": _ke(
        "SSO login loop: browser keeps returning to the Okta sign-in page",
        "Signing in to Workday or Salesforce via Okta redirects back to the sign-in page again "
        "and again. Happens in Chrome and Edge with third-party cookies blocked.",
        "access",
        "identity",
        "Allow cookies for *.okta.com in the browser, or clear cookies and sign in again in a "
        "private window.",
        "Browser policy blocks third-party cookies needed by the Okta session.",
    ),
    "sso-clock-skew": _ke(
        "SAML login fails with 'assertion not yet valid'",
        "The SAML application shows 'Response is not valid yet' or 'NotBefore condition failed' "
        "after single sign-on.",
        "access",
        "identity",
        "Resync the application server's clock with NTP (chronyc makestep).",
        "The app server's clock is several minutes behind the identity provider.",
    ),
    "sso-idp-cert": _ke(
        "Single sign-on fails for all users: IdP signing certificate rolled over",
        "Every SAML application returns 'Invalid signature' after login since the identity "
        "provider rotated its token-signing certificate.",
        "access",
        "identity",
        "Upload the new signing certificate metadata to each service provider.",
        "Service providers pin the old token-signing certificate.",
    ),
    "mfa-new-phone": _ke(
        "MFA push notifications not arriving on a new phone",
        "User replaced their phone and no longer gets the Microsoft Authenticator approve "
        "request; sign-in times out waiting for approval.",
        "access",
        "identity",
        "Service desk resets the user's MFA methods; the user re-registers the Authenticator app "
        "at aka.ms/mysecurityinfo.",
        "Authenticator registration is tied to the old device.",
    ),
    "account-lockout": _ke(
        "Account locked out repeatedly after password change",
        "User's Active Directory account locks every few minutes after changing the password, "
        "even when they do not try to log in.",
        "access",
        "identity",
        "Find the source in the lockout event 4740 and update the password on the old phone, "
        "mapped drives or saved credentials.",
        "An old device keeps trying the previous password.",
    ),
    "sspr-email": _ke(
        "Self-service password reset code e-mail never arrives",
        "The password reset portal says a verification code was sent to the personal e-mail "
        "address, but the e-mail does not arrive, even in junk.",
        "access",
        "identity",
        "Use the phone (SMS) verification method, or the service desk resets the password after "
        "identity checks.",
        "Reset mails are throttled by the consumer mail provider.",
    ),
    # --- storage and disk full ----------------------------------------------------------------
    "disk-full-windows-update": _ke(
        "Laptop C: drive full, low disk space warnings",
        "Windows shows 'Low disk space' and the C: drive has almost no free space; applications "
        "fail to save files.",
        "hardware",
        "workplace",
        "Run Disk Cleanup as administrator with 'Windows Update Cleanup' ticked; clear "
        "C:\\Windows\\SoftwareDistribution\\Download.",
        "Failed feature updates leave several GB in the update cache.",
    ),
    "disk-full-sql-log": _ke(
        "SQL Server transaction log volume full",
        "Database writes fail with error 9002 'The transaction log for database is full'. "
        "Applications using the database stop saving.",
        "database",
        "erp",
        "Take a transaction log backup, then shrink the log file; add space to the L: volume.",
        "Log backups stopped when the backup agent was upgraded.",
    ),
    "disk-full-var-log": _ke(
        "Linux server /var partition full due to journal logs",
        "Services on the Linux host fail to start; df shows /var at 100%. Logs are not written.",
        "server",
        "hosting",
        "journalctl --vacuum-size=500M and restart the failed services.",
        "journald has no size limit configured on the image.",
    ),
    "ci-runner-disk": _ke(
        "CI pipelines fail with 'no space left on device' on build runners",
        "GitLab CI jobs fail during docker build with 'no space left on device'.",
        "software",
        "ci",
        "Run 'docker system prune -af' on the runner, then retry the job.",
        "Docker images and build cache are never cleaned on the shared runners.",
    ),
    # --- certificates -------------------------------------------------------------------------
    "cert-intranet-expired": _ke(
        "Intranet site shows 'Your connection is not private' (certificate expired)",
        "Browsers warn NET::ERR_CERT_DATE_INVALID when opening the intranet portal; the padlock "
        "says the certificate has expired.",
        "security",
        "intranet",
        "Users may continue past the warning for the intranet only; the web team renews the "
        "certificate.",
        "The intranet certificate was not in the renewal calendar.",
    ),
    "cert-api-expired": _ke(
        "Partner API calls fail: TLS handshake error after certificate expiry",
        "Integrations calling the partner API fail with 'certificate has expired' or SSL "
        "handshake failures; order messages queue up.",
        "security",
        "integration",
        "Renew the client certificate in the integration keystore and restart the connector.",
        "Client certificate for mutual TLS expired.",
    ),
    "cert-internal-ca": _ke(
        "Internal tools untrusted on new laptops: root CA missing",
        "On newly imaged laptops internal websites show a certificate warning 'issuer not "
        "trusted', although the certificate is valid.",
        "security",
        "workplace",
        "Install the corporate root CA from the software centre.",
        "The new laptop image lacks the internal root certificate.",
    ),
    # --- DNS, network -------------------------------------------------------------------------
    "dns-stale-record": _ke(
        "Server unreachable by name after migration, IP works",
        "After a server moved to the new data centre users cannot reach it by its hostname, "
        "while connecting by IP address works. nslookup returns the old address.",
        "network",
        "dns",
        "ipconfig /flushdns on the client; DNS team deletes the stale A record.",
        "Static DNS records were not updated by the migration runbook.",
    ),
    "dhcp-wrong-dns": _ke(
        "No websites load on the 2nd floor: DHCP hands out a wrong DNS server",
        "Clients on the second floor get an IP address but no website loads; 'DNS_PROBE_FINISHED"
        "_NXDOMAIN' in the browser.",
        "network",
        "dns",
        "Set DNS manually to 10.0.0.53 or reconnect to the guest network.",
        "The 2nd-floor DHCP scope still points to a retired DNS server.",
    ),
    "loadbalancer-502": _ke(
        "Customer portal returns 502 Bad Gateway after deployment",
        "After a release the customer portal intermittently shows '502 Bad Gateway' from the "
        "load balancer.",
        "software",
        "customer-portal",
        "Roll back the deployment or re-register healthy instances with the target group.",
        "The new build's health check endpoint path changed.",
    ),
    # --- Wi-Fi --------------------------------------------------------------------------------
    "wifi-roaming": _ke(
        "Wi-Fi drops when moving between meeting rooms",
        "Laptops lose the wireless connection for 30 seconds or more when users walk between "
        "meeting rooms; Teams calls drop.",
        "network",
        "wifi",
        "Update the Intel wireless driver to 23.x and set roaming aggressiveness to 'Medium'.",
        "Old wireless drivers roam late between access points.",
    ),
    "wifi-guest-portal": _ke(
        "Guest Wi-Fi captive portal page does not load",
        "Visitors connect to the guest wireless network but the sign-in page never appears.",
        "network",
        "wifi",
        "Open http://neverssl.com to trigger the captive portal.",
        "HTTPS pages cannot be redirected to the captive portal.",
    ),
    "wifi-8021x-password": _ke(
        "Corporate Wi-Fi will not connect after password change",
        "Laptops fail to join the corporate wireless network with 'Can't connect to this network' "
        "after the user's password change; wired works.",
        "network",
        "wifi",
        "Forget the corporate Wi-Fi network and reconnect, entering the new password.",
        "The 802.1X PEAP profile caches the old password.",
    ),
    # --- databases and batch ------------------------------------------------------------------
    "db-deadlock-batch": _ke(
        "Nightly order import fails with deadlock errors",
        "The order import batch job aborts with 'Transaction was deadlocked on lock resources "
        "with another process and has been chosen as the deadlock victim'.",
        "database",
        "erp",
        "Rerun the import after 02:00 when the index maintenance job has finished.",
        "Index maintenance and the import run at the same time and lock the same tables.",
    ),
    "db-blocking-report": _ke(
        "ERP slow and timing out: blocking from a long-running report",
        "ERP screens hang and save operations time out; the database shows sessions waiting on "
        "locks held by a reporting query.",
        "database",
        "erp",
        "DBA kills the blocking report session; run heavy reports against the read replica.",
        "Ad-hoc finance reports run on the primary database without NOLOCK.",
    ),
    "db-connection-pool": _ke(
        "Application errors: connection pool exhausted",
        "The web application logs 'Timeout expired. The timeout period elapsed prior to "
        "obtaining a connection from the pool'.",
        "database",
        "customer-portal",
        "Recycle the application pool; the fix releases connections on error paths.",
        "Connections leak on an exception path in the checkout service.",
    ),
    "payroll-tax-code": _ke(
        "Payroll batch run stops: employee without tax code",
        "The monthly payroll calculation batch ends in error 'PY-1042 missing tax code' and no "
        "payslips are produced.",
        "application",
        "payroll",
        "HR enters the missing tax code on the employee record, then payroll reruns the batch "
        "for the period.",
        "New starters imported from the HR system without a tax code.",
    ),
    "payroll-bank-file": _ke(
        "Bank rejects the payroll payment file",
        "The bank portal rejects the salary payment file with 'invalid execution date format'.",
        "application",
        "payroll",
        "Regenerate the SEPA file with the date format set to ISO (YYYY-MM-DD) and upload again.",
        "The bank changed its file validation to the new pain.001 schema version.",
    ),
    "payslip-portal": _ke(
        "Employees cannot open payslips in the HR portal",
        "Opening a payslip PDF in the HR self-service portal shows a blank page or a spinning "
        "wheel.",
        "application",
        "payroll",
        "Download the PDF instead of opening it in the browser, or use Edge.",
        "The PDF viewer component fails in Chrome 12x.",
    ),
    "month-end-slow": _ke(
        "ERP very slow during month-end closing",
        "Finance users report the ERP takes minutes to post journals during the last two days "
        "of the month.",
        "application",
        "erp",
        "Schedule the large allocation runs overnight.",
        "Month-end allocation jobs run during business hours.",
    ),
    # --- collaboration and workplace ----------------------------------------------------------
    "teams-audio": _ke(
        "Teams meetings: others cannot hear me",
        "In Microsoft Teams calls other participants cannot hear the user although the "
        "microphone is not muted; the headset works in other apps.",
        "software",
        "collaboration",
        "In Teams Settings > Devices choose the headset as microphone; disable 'exclusive mode' "
        "in the Windows sound settings.",
        "Teams picks the docking station's audio device after undocking.",
    ),
    "teams-screen-share": _ke(
        "Screen sharing shows a black screen in Teams",
        "When sharing the screen in Teams, participants see only a black window.",
        "software",
        "collaboration",
        "Share a single window instead of the whole desktop, or turn off GPU hardware "
        "acceleration in Teams.",
        "Graphics driver issue with hardware acceleration.",
    ),
    "onedrive-sync": _ke(
        "OneDrive stuck on 'Processing changes' and files not syncing",
        "The OneDrive icon shows sync pending for hours; files saved on the laptop do not appear "
        "on the web.",
        "software",
        "collaboration",
        "Reset OneDrive: run 'onedrive.exe /reset' and sign in again.",
        "A file with an invalid name blocks the sync queue.",
    ),
    "sharepoint-access-denied": _ke(
        "SharePoint site says 'Access denied' after team change",
        "User moved to a new team and gets 'You need permission to access this site' on the "
        "team's SharePoint.",
        "access",
        "collaboration",
        "Site owner adds the user to the site's Members group; allow 15 minutes.",
        "Group membership sync from HR runs only nightly.",
    ),
    "excel-locked": _ke(
        "Excel file 'locked for editing' by a user who has closed it",
        "Opening a workbook on the shared drive says it is locked for editing by another user, "
        "although that colleague has closed Excel.",
        "software",
        "file-services",
        "Delete the hidden owner file (~$name.xlsx) in the folder, or close the open file "
        "handle on the file server.",
        "Excel crashed and left the lock file behind.",
    ),
    "mapped-drive": _ke(
        "Mapped network drive shows a red X after login",
        "The H: drive appears disconnected after the laptop logs in off the network; double "
        "click asks for credentials.",
        "network",
        "file-services",
        "Connect the VPN, then open the drive; or run 'net use' to remap.",
        "Drive maps at login before the VPN is up.",
    ),
    "dock-monitors": _ke(
        "External monitors not detected on the USB-C docking station",
        "Laptop does not display anything on the two monitors connected to the dock; charging "
        "and USB work.",
        "hardware",
        "workplace",
        "Update the dock firmware and DisplayLink driver from the software centre; reconnect.",
        "Dock firmware below 1.0.20 fails with the latest graphics driver.",
    ),
    "laptop-battery": _ke(
        "Laptop battery not charging when docked",
        "Battery stays at the same percentage with 'plugged in, not charging' while on the dock.",
        "hardware",
        "workplace",
        "Disable battery charge threshold in the vendor power tool, or charge with the original "
        "power adapter.",
    ),
    "bitlocker-recovery": _ke(
        "BitLocker recovery key prompt after BIOS update",
        "At start-up the laptop asks for the 48-digit BitLocker recovery key following a "
        "firmware or BIOS update.",
        "hardware",
        "workplace",
        "Service desk reads the recovery key from Intune after identity verification.",
        "BIOS updates change the TPM measurements when BitLocker was not suspended.",
    ),
    "windows-update-stuck": _ke(
        "Windows update stuck at 35% for hours",
        "Installing the monthly cumulative update hangs at 35% and the laptop cannot be used.",
        "software",
        "workplace",
        "Hard restart; Windows rolls back. Run the Windows Update troubleshooter and retry.",
        "Conflict with the disk encryption filter driver.",
    ),
    "antivirus-quarantine": _ke(
        "Antivirus quarantines the finance plugin",
        "Defender removes the accounting Excel plugin as 'Trojan:Win32/Wacatac'; Excel shows the "
        "plugin missing.",
        "security",
        "workplace",
        "Security team adds the plugin's signed hash to the allow list; restore from quarantine.",
        "False positive on an unsigned plugin build.",
    ),
    "citrix-freeze": _ke(
        "Citrix session freezes and reconnects",
        "Virtual desktop sessions in Citrix Workspace freeze for several seconds and then "
        "reconnect; typing lags.",
        "software",
        "virtual-desktop",
        "Switch to the wired network; in Citrix Workspace disable EDT (use TCP).",
        "UDP-based EDT transport drops on the office firewall.",
    ),
    "sap-gui-timeout": _ke(
        "SAP GUI disconnects after 15 minutes idle",
        "SAP GUI shows 'Connection to partner broken' after a short break, losing unsaved work.",
        "application",
        "erp",
        "Save often; the timeout is being increased on the firewall.",
        "Firewall idle timeout shorter than the SAP keepalive.",
    ),
    "jira-notifications": _ke(
        "Jira e-mail notifications delayed by hours",
        "Watchers receive Jira notification e-mails hours after the change.",
        "software",
        "collaboration",
        "Use the in-app notifications; admins flush the mail queue.",
        "The outgoing mail queue is processed by one thread.",
    ),
    "git-large-file": _ke(
        "Git push rejected: file exceeds size limit",
        "Pushing to the Git server fails with 'remote: error: File is 120 MB; this exceeds the "
        "file size limit'.",
        "software",
        "source-control",
        "Remove the file from history and track it with Git LFS.",
    ),
    "k8s-crashloop-config": _ke(
        "Service pods in CrashLoopBackOff after config change",
        "Kubernetes pods restart repeatedly with CrashLoopBackOff; logs show 'missing required "
        "environment variable' after a ConfigMap edit.",
        "software",
        "hosting",
        "Restore the previous ConfigMap version and roll the deployment.",
        "A key was renamed in the ConfigMap without updating the deployment.",
    ),
    "service-account-password": _ke(
        "Scheduled task fails: service account password expired",
        "A nightly scheduled task stopped running; Task Scheduler shows 'logon failure: the "
        "user's password has expired' (0x8007052E).",
        "server",
        "hosting",
        "Reset the service account password and update it in the task and the vault.",
        "The service account was not exempt from the password expiry policy.",
    ),
    "backup-vss": _ke(
        "Backup job fails with VSS snapshot error",
        "Nightly backup of the file server fails with 'VSS_E_UNEXPECTED_PROVIDER_ERROR'.",
        "server",
        "backup",
        "Restart the Volume Shadow Copy service and rerun the backup.",
        "A third-party VSS provider hangs.",
    ),
    "voicemail-email": _ke(
        "Voicemail messages no longer arrive by e-mail",
        "Users do not receive voicemail as e-mail attachments from the phone system.",
        "telephony",
        "telephony",
        "Listen to voicemail from the desk phone or the softphone app.",
        "The phone system's SMTP relay credentials expired.",
    ),
    "badge-door": _ke(
        "Building access badge does not open doors",
        "The door reader flashes red when a new employee taps their badge at the entrance.",
        "facilities",
        "physical-access",
        "Reception issues a temporary visitor badge; facilities re-encodes the badge.",
        "Badges are activated only after the HR start date is reached.",
    ),
    "zoom-camera": _ke(
        "Camera not detected in video calls",
        "The laptop's built-in camera shows a black image or 'no camera found' in Zoom and Teams.",
        "hardware",
        "workplace",
        "Check the privacy shutter and the F10 camera key; enable camera access in Windows "
        "privacy settings.",
    ),
    "expense-upload": _ke(
        "Receipts fail to upload in the expense app",
        "Uploading a receipt photo in the expense app fails with 'file too large'.",
        "application",
        "expenses",
        "Take the photo at lower resolution or upload a PDF under 10 MB.",
    ),
    "crm-sync": _ke(
        "CRM contacts not syncing to Outlook",
        "Contacts created in the CRM are missing from Outlook's address book on the laptop.",
        "software",
        "crm",
        "Run a manual sync from the CRM add-in ribbon.",
        "The sync job skips contacts without an e-mail address.",
    ),
    # --- retired and drafts (never suggested) --------------------------------------------------
    "vpn-old-client": _ke(
        "Old Cisco AnyConnect VPN client disconnects every few minutes",
        "Remote users on the legacy VPN client lose the tunnel every few minutes at home.",
        "network",
        "vpn",
        "Reinstall the AnyConnect client.",
        status="retired",
    ),
    "printer-draft": _ke(
        "Print jobs stuck in the queue on the new print server (draft)",
        "Jobs sent to the new print server stay queued and nothing prints.",
        "hardware",
        "printing",
        "Under investigation.",
        status="draft",
    ),
}

# How callers describe the problem (not the known error's words), and the key that must rank first.
LOOKUPS: list[tuple[str, str]] = [
    (
        "Working from home, my VPN keeps dropping out every couple of minutes and I have to "
        "reconnect each time",
        "vpn-idle-drop",
    ),
    (
        "Outlook says trying to connect and keeps asking for my password since I changed it "
        "yesterday",
        "outlook-password-change",
    ),
    (
        "Nothing comes out of the 3rd floor printer, my documents just sit in the queue",
        "print-spooler",
    ),
    (
        "Trying to log into Workday I get sent back to the Okta login page over and over",
        "sso-redirect-loop",
    ),
    (
        "My laptop says low disk space and I can't save anything, C: is full",
        "disk-full-windows-update",
    ),
    (
        "Chrome shows NET::ERR_CERT_DATE_INVALID when I open the intranet homepage",
        "cert-intranet-expired",
    ),
    (
        "I can ping the file server by its IP address but not by hostname since it was migrated",
        "dns-stale-record",
    ),
    (
        "Wireless connection drops whenever I walk from one meeting room to another, Teams call "
        "cut off",
        "wifi-roaming",
    ),
    (
        "The overnight order import job failed, log says chosen as deadlock victim",
        "db-deadlock-batch",
    ),
    (
        "This month's payroll run aborted with error PY-1042, one new starter has no tax code",
        "payroll-tax-code",
    ),
    (
        "Got a new phone and the Authenticator approval request never shows up when I sign in",
        "mfa-new-phone",
    ),
    (
        "Spreadsheet on the shared drive says it's locked for editing by Dave but he went home",
        "excel-locked",
    ),
    (
        "Outlook search finds nothing from the last month even though the emails are in my inbox",
        "outlook-search",
    ),
    (
        "Printer spits out pages full of weird symbols instead of my report",
        "print-garbage",
    ),
    (
        "VPN is connected but I can't open the wiki or any internal site",
        "vpn-split-dns",
    ),
    (
        "GitLab build job fails: no space left on device during docker build",
        "ci-runner-disk",
    ),
]
