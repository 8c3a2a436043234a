using System.Text;

namespace OutboxSync.Api.Tests.Hostile;

/// <summary>The raw material of hostile requests: JSON fragments (as JSON text) and plain strings.</summary>
public static class HostileValues
{
    /// <summary>SQL, shell, template, path and encoding metacharacters, each meant as a string value.</summary>
    public static readonly string[] Metacharacters =
    [
        "'", "''", "\"", "\\", "'; drop table networks; --", "\" or \"\"=\"", "1' or '1'='1", "1 or 1=1",
        "') or ('a'='a", "admin'--", "'; select pg_sleep(5); --", "$$; drop table outbox_entries; $$", "E'\\x00'",
        "%' or name like '%", "_%", "%", "*", "?", "\\x27", "$(reboot)", "`id`", "| cat /etc/passwd", "; ls -la",
        "&& shutdown -h now", "> /dev/null", "../../../../etc/passwd", "..\\..\\windows\\win.ini", "{{7*7}}", "${jndi:ldap://x/a}",
        "<script>alert(1)</script>", "%s%s%s%n", "%00", "\r\nX-Injected: 1", "\t\n\v\f", "\u202etxt.exe", "\ufeff", "\u200b",
        "ünïcødé-名前-🙂", "::", "/", "#", "&", "=", "+", ",", ";", "[]", "{}", "null", "true", "-1", "0x7fffffff",
        "9223372036854775808", "1e309", "NaN", "Infinity", "   ", "",
    ];

    /// <summary>Strings that must never reach the database: NUL characters and lone surrogates.</summary>
    public static readonly string[] Unstorable = ["nul\0char", "\0", "lone\ud800surrogate", "\udfff", "end\ud83d"];

    /// <summary>JSON values of every kind, as JSON text; fields reject the kinds they do not take.</summary>
    public static readonly string[] AnyKind =
    [
        "42", "-1", "1.5", "1e309", "-1e309", "99999999999999999999999999", "true", "false", "[]", "{}", "[1,2,3]",
        "{\"a\":1}", "\"\"", "\"x\"", "[\"a\"]", "[{}]", "[[]]", "[null]",
    ];

    public static readonly string[] NotStrings = ["42", "-1", "1.5", "1e309", "true", "false", "[]", "{}", "[\"a\"]", "{\"a\":\"b\"}"];

    public static readonly string[] NotBooleans = ["\"maybe\"", "\"yes\"", "2", "-1", "1.5", "[]", "{}", "[true]", "\"\"", "null"];

    public static readonly string[] NotLists = ["\"x\"", "42", "true", "{}", "{\"a\":1}"];

    public static readonly string[] InvalidUuids =
    [
        "", "x", "not-a-uuid", "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000",
        "g0000000-0000-0000-0000-000000000000", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "8d3a1a6e1b554a8e9a530d0c7f1e2b4",
        "8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44-00", "'8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44'", "8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44' or '1'='1",
        "8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44;", "(8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44", "{0x00000000,0x0000,0x0000,{0x00}}",
        "-1", "0", "1e309", " 8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44x",
    ];

    public static readonly string[] InvalidCidrs =
    [
        "", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/2147483648", "10.0.0.0/99999999999999999999",
        "256.0.0.0/24", "10.0.0/24", "10.0.0.0.0/24", "10.0.0.0/24/24", "10.0.0.0 /24", "10.0.0.0/ 24", "010.000.000.000/24x",
        "::/129", "2001:db8::/-1", "2001:db8:::/64", "2001:db8::g/64", "2001:db8::/64%eth0", "fe80::1%25eth0/64",
        "1:2:3:4:5:6:7:8:9/64", "::ffff:10.0.0.0/300", "10.0.0.0/24' or '1'='1", "$(reboot)/24", "0x0a000000/24", "/24", "/",
    ];

    public static readonly string[] InvalidIps =
    [
        "", "10.0.0", "10.0.0.256", "10.0.0.1.1", "10.0.0.-1", "1.2.3.4/32", " 10.0.0.1", "10.0.0.1 ", "10.0.0.01x", "0x0a.0.0.1",
        "999.999.999.999", "4294967296", "::g", ":::", "1:2:3:4:5:6:7:8:9", "2001:db8::1%eth0", "fe80::1%25", "[::1]",
        "::ffff:300.0.0.1", "1::2::3", "' or 1=1 --", "localhost",
    ];

    public static readonly string[] InvalidMacs =
    [
        "", "zz:zz:zz:zz:zz:zz", "00:11:22:33:44", "00:11:22:33:44:55:66", "001122334455x", "00-11-22-33-44-gg", "00:11:22:33:44:5",
        "000:11:22:33:44:55", "00:11:22:33:44:55 ", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "00:00:00:00:00:00", "'; --",
    ];

    /// <summary>Byte sequences that are not UTF-8: stray continuation, overlong, surrogate, out of range, truncated.</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0x80], [0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFE], [0xFF], [0xE2, 0x82],
        [0xF0, 0x9F, 0x98], [0xC3],
    ];

    /// <summary>Content types the JSON endpoints must refuse with 415 (no Content-Type at all means JSON, as in Neutron).</summary>
    public static readonly string?[] WrongContentTypes =
    [
        "text/plain", "application/xml", "text/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "*/*", "json", "application/javascript", "text/html; charset=utf-8", "application/octet-stream", "application/x-json",
    ];

    /// <summary>A JSON string literal for any UTF-16 text, lone surrogates included (as <c>\\uXXXX</c> escapes).</summary>
    public static string Json(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            _ = c switch
            {
                '"' => sb.Append("\\\""),
                '\\' => sb.Append("\\\\"),
                < ' ' or > '~' => sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
                _ => sb.Append(c),
            };
        }
        return sb.Append('"').ToString();
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary><c>depth</c> nested arrays (or objects) around a scalar.</summary>
    public static string Nested(int depth, bool objects)
    {
        var sb = new StringBuilder(depth * 6 + 8);
        for (var i = 0; i < depth; i++)
        {
            sb.Append(objects ? "{\"a\":" : "[");
        }
        sb.Append('1');
        for (var i = 0; i < depth; i++)
        {
            sb.Append(objects ? '}' : ']');
        }
        return sb.ToString();
    }
}
