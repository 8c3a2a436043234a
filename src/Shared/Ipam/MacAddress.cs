using System.Globalization;
using System.Security.Cryptography;

namespace OutboxSync.Ipam;

/// <summary>MAC addresses as Neutron uses them: lower-case colon form, generated under fa:16:3e.</summary>
public static class MacAddress
{
    public const string BasePrefix = "fa:16:3e";

    public static string Generate()
    {
        Span<byte> tail = stackalloc byte[3];
        RandomNumberGenerator.Fill(tail);
        return string.Create(CultureInfo.InvariantCulture, $"{BasePrefix}:{tail[0]:x2}:{tail[1]:x2}:{tail[2]:x2}");
    }

    /// <summary>Accepts aa:bb:cc:dd:ee:ff or aa-bb-…; rejects multicast and all-zero addresses.</summary>
    public static bool TryNormalize(string? text, out string mac)
    {
        mac = "";
        if (text is null || text.Length != 17)
        {
            return false;
        }
        var parts = text.Split(text[2] == '-' ? '-' : ':');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !p.All(Uri.IsHexDigit)))
        {
            return false;
        }
        var first = byte.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if ((first & 1) == 1 || parts.All(p => p == "00"))
        {
            return false;
        }
        mac = string.Join(':', parts).ToLowerInvariant();
        return true;
    }
}
