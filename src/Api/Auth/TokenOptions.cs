using System.ComponentModel.DataAnnotations;

namespace OutboxSync.Api.Auth;

/// <summary>
/// API tokens (section <c>Auth</c>). Only SHA-256 hashes are configured, never the tokens themselves.
/// </summary>
public sealed class TokenOptions
{
    public const string Section = "Auth";

    /// <summary>Tokens as hashes with their project and roles. Default: none (every /v2.0 call is 401).</summary>
    public List<TokenEntry> Tokens { get; set; } = [];

    /// <summary>Optional JSON file holding more entries (an array of TokenEntry). Default: none.</summary>
    public string? TokensFile { get; set; }
}

public sealed class TokenEntry
{
    /// <summary>Lower-case hex SHA-256 of the token.</summary>
    [Required, RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "Auth:Tokens:*:Sha256 must be 64 hex characters.")]
    public string Sha256 { get; set; } = "";

    [Required(ErrorMessage = "Auth:Tokens:*:ProjectId is required.")]
    public string ProjectId { get; set; } = "";

    /// <summary>Roles, as Neutron's defaults: "admin" sees and acts on every project, "member" acts on its project,
    /// "reader" (alone) may only read it. Default: none, which acts as "member".</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>A name for logs and the audit trail (never the token).</summary>
    public string? Name { get; set; }
}
