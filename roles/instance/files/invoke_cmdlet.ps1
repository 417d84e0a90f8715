#Requires -Version 7.4
# Runs one cmdlet of Particular.ServiceControl.Management with parameters decided on the controller.
# Thin on purpose: which cmdlet and which parameters is computed and unit-tested in the collection
# (plugins/module_utils/_deployment.py); this script only imports the module at exactly the instance
# version and calls the cmdlet.
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$Cmdlet,
    [Parameter(Mandatory)][hashtable]$Parameters,
    [Parameter(Mandatory)][string]$ModuleVersion,
    [string]$ModulePath
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false

if ($ModulePath) {
    Import-Module -Name (Join-Path $ModulePath 'Particular.ServiceControl.Management.psd1') -RequiredVersion $ModuleVersion
} else {
    if (-not (Get-Module -ListAvailable -Name Particular.ServiceControl.Management |
              Where-Object { $_.Version -eq [version]$ModuleVersion })) {
        Install-Module -Name Particular.ServiceControl.Management -RequiredVersion $ModuleVersion -Scope AllUsers -Force
    }
    Import-Module -Name Particular.ServiceControl.Management -RequiredVersion $ModuleVersion
}

# Switches arrive as booleans: pass $true ones as present switches, leave $false ones out.
$arguments = @{}
foreach ($entry in $Parameters.GetEnumerator()) {
    if ($entry.Value -is [bool]) {
        if ($entry.Value) { $arguments[$entry.Key] = [switch]::Present }
    } elseif ($entry.Key -match 'RetentionPeriod$') {
        $arguments[$entry.Key] = [timespan]::Parse($entry.Value)
    } elseif ($entry.Key -eq 'ServiceAccountPassword') {
        $arguments[$entry.Key] = $entry.Value
    } else {
        $arguments[$entry.Key] = $entry.Value
    }
}
$result = & $Cmdlet @arguments
if ($Cmdlet -notlike 'Get-*') { $Ansible.Changed = $true }
$result | Select-Object -Property * -ExcludeProperty ConnectionString
