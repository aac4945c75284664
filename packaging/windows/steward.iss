; Inno Setup script: Steward's Windows installer, around the one-folder build dist\steward\ (make dist /
; pyinstaller build.spec). Needs Inno Setup 6.3 or newer on a Windows build machine; see "Installing for
; departments" in README.md. From the repository root:
;
;   iscc packaging\windows\steward.iss
;
; Code signing: name a sign tool when compiling, and the installer, the uninstaller and both executables
; are signed ($f is the file; any signtool command line works, e.g. with a certificate in the store):
;
;   iscc "/Ssteward=signtool.exe sign /fd sha256 /td sha256 /tr <your CA's timestamp URL> /a $f" ^
;        /DSignTool=steward packaging\windows\steward.iss

#define AppName "Steward"
#define Bundle "..\..\dist\steward"
#define AppExe "steward.exe"
; The version is the one build.spec wrote into the exe's version resource, from pyproject.toml.
#define AppVersion GetStringFileInfo(AddBackslash(SourcePath) + Bundle + "\" + AppExe, "ProductVersion")
#define AppVersionNumbers GetVersionNumbersString(AddBackslash(SourcePath) + Bundle + "\" + AppExe)
; Simplified Chinese messages are an unofficial Inno Setup translation: used when the build machine has it.
#define Chinese FileExists(CompilerPath + "Languages\ChineseSimplified.isl")

[Setup]
; Fixed for ever: Windows knows the installed app, its upgrades and its uninstaller by it.
AppId={{85E42BA3-6F0A-41A9-B135-9DD966D33637}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
VersionInfoVersion={#AppVersionNumbers}
; Per user, without administrator rights: {autopf} is then %LOCALAPPDATA%\Programs. An administrator can
; still install for all users from the command line (/ALLUSERS), e.g. for a department-wide rollout.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=commandline
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=steward-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName={#AppName}
UninstallDisplayIcon={app}\{#AppExe}
; Steward open during an upgrade or removal: offer to close it instead of failing on locked files.
CloseApplications=yes
#ifdef SignTool
SignTool={#SignTool}
SignedUninstaller=yes
#endif

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
#if Chinese
Name: "zh_CN"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"
#endif

[CustomMessages]
en.Troubleshooting=Steward (troubleshooting console)
#if Chinese
zh_CN.Troubleshooting=Steward(故障排查控制台)
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
#ifdef SignTool
Source: "{#Bundle}\steward.exe"; DestDir: "{app}"; Flags: ignoreversion signonce
Source: "{#Bundle}\steward-debug.exe"; DestDir: "{app}"; Flags: ignoreversion signonce
Source: "{#Bundle}\*"; DestDir: "{app}"; Excludes: "steward.exe,steward-debug.exe"; Flags: ignoreversion recursesubdirs createallsubdirs
#else
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#endif

[Icons]
Name: "{autoprograms}\{#AppName}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autoprograms}\{#AppName}\{cm:Troubleshooting}"; Filename: "{app}\steward-debug.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The uninstaller removes what it installed, nothing else: workspaces (%LOCALAPPDATA%\Steward), settings
; (HKCU\Software\Steward) and logs belong to the steward and stay.
