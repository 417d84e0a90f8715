# Thin host-side step for MSMQ (Windows only): the queue names were derived and validated on the controller.
# Creates private transactional queues as NServiceBus's MSMQ transport does: the installing account gets
# WriteMessage, ReceiveMessage, PeekMessage and GetQueueProperties, BUILTIN\Administrators FullControl.
# Existing queues are left exactly as they are. Honours check mode through ShouldProcess.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string[]]$Queues,
    [ValidateSet('present', 'absent')][string]$State = 'present',
    [Parameter(Mandatory)][string]$Account
)
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.Messaging
$rights = [System.Messaging.MessageQueueAccessRights]
$accountRights = $rights::WriteMessage -bor $rights::ReceiveMessage -bor $rights::PeekMessage -bor $rights::GetQueueProperties
# Resolve the Administrators group from its well-known SID: its name is localised on non-English Windows.
$administrators = ([System.Security.Principal.SecurityIdentifier]'S-1-5-32-544').Translate(
    [System.Security.Principal.NTAccount]).Value
$actions = @()
foreach ($queue in $Queues) {
    $path = ".\private$\$queue"
    $exists = [System.Messaging.MessageQueue]::Exists($path)
    if ($State -eq 'present' -and -not $exists) {
        if ($PSCmdlet.ShouldProcess($path, 'Create transactional queue')) {
            $created = [System.Messaging.MessageQueue]::Create($path, $true)
            $created.SetPermissions($Account, $accountRights)
            $created.SetPermissions($administrators, $rights::FullControl)
        }
        $Ansible.Changed = $true
        $actions += @{ name = $queue; physical_name = "private$\$queue"; action = 'created' }
    }
    elseif ($State -eq 'absent' -and $exists) {
        if ($PSCmdlet.ShouldProcess($path, 'Delete queue')) {
            [System.Messaging.MessageQueue]::Delete($path)
        }
        $Ansible.Changed = $true
        $actions += @{ name = $queue; physical_name = "private$\$queue"; action = 'deleted' }
    }
    else {
        $actions += @{ name = $queue; physical_name = "private$\$queue"; action = $(if ($exists) { 'existed' } else { 'absent' }) }
    }
}
$Ansible.Result = @{ queues = $actions }
