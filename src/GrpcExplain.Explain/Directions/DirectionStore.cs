using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace GrpcExplain.Explain.Directions;

/// <summary>What a stored direction is for: one generator (its weights' SHA-256), one classifier model version, one class, one method.</summary>
public sealed record DirectionKey(string GeneratorSha256, string ClassifierName, string ClassifierVersion, int TargetClass, string Method)
{
    public const string LinearProbe = "linear_probe";
}

/// <summary>A direction as stored: the unit vector, the probe's held-out measures and how it was fitted.</summary>
public sealed record StoredDirection(string Id, DirectionKey Key, float[] Vector, ProbeResult Probe, ProbeSettings Settings, DateTimeOffset CreatedUtc);

/// <summary>
/// Directions in a SQLite file, so a probe is fitted once per generator, classifier and class and
/// survives restarts. A refit adds a row rather than replacing one: the newest row of a key is the
/// current direction, and every direction id ever handed out stays valid. Each call opens its own
/// pooled connection; WAL journaling and a busy timeout let threads and processes share the file.
/// </summary>
public sealed class DirectionStore
{
    private readonly string _connectionString;

    public DirectionStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Also the busy timeout: a writer waits this long for another's lock instead of failing at once.
            DefaultTimeout = 30,
            Pooling = true,
        }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode = WAL;");
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS directions (
                id TEXT PRIMARY KEY,
                generator_sha256 TEXT NOT NULL,
                classifier_name TEXT NOT NULL,
                classifier_version TEXT NOT NULL,
                target_class INTEGER NOT NULL,
                method TEXT NOT NULL,
                direction BLOB NOT NULL,
                held_out_accuracy REAL NOT NULL,
                held_out_auc REAL NOT NULL,
                num_train_samples INTEGER NOT NULL,
                num_held_out_samples INTEGER NOT NULL,
                labelling TEXT NOT NULL,
                settings TEXT NOT NULL,
                created_utc TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS directions_by_key
                ON directions (generator_sha256, classifier_name, classifier_version, target_class, method, created_utc);
            """);
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Stores a newly fitted direction under a new id, as the key's current direction.</summary>
    public StoredDirection Add(DirectionKey key, ProbeResult probe, ProbeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(settings);
        var stored = new StoredDirection(Guid.NewGuid().ToString("N"), key, probe.Direction, probe, settings, DateTimeOffset.UtcNow);
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO directions (id, generator_sha256, classifier_name, classifier_version, target_class, method, direction,
                held_out_accuracy, held_out_auc, num_train_samples, num_held_out_samples, labelling, settings, created_utc)
            VALUES ($id, $sha, $name, $version, $class, $method, $direction, $accuracy, $auc, $train, $held, $labelling, $settings, $created);
            """;
        command.Parameters.AddWithValue("$id", stored.Id);
        AddKey(command, key);
        command.Parameters.AddWithValue("$direction", MemoryMarshal.AsBytes(probe.Direction.AsSpan()).ToArray());
        // NaN (an AUC without both labels) is stored as NULL by SQLite; keep it a number that reads back as NaN.
        command.Parameters.AddWithValue("$accuracy", probe.HeldOutAccuracy);
        command.Parameters.AddWithValue("$auc", double.IsNaN(probe.HeldOutAuc) ? -1 : probe.HeldOutAuc);
        command.Parameters.AddWithValue("$train", probe.NumTrain);
        command.Parameters.AddWithValue("$held", probe.NumHeldOut);
        command.Parameters.AddWithValue("$labelling", probe.Labelling);
        command.Parameters.AddWithValue("$settings", JsonSerializer.Serialize(settings));
        // Fixed-width ISO 8601, so text order is time order.
        command.Parameters.AddWithValue("$created", stored.CreatedUtc.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
        return stored;
    }

    /// <summary>The key's current (newest) direction, or null.</summary>
    public StoredDirection? Find(DirectionKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns} FROM directions
            WHERE generator_sha256 = $sha AND classifier_name = $name AND classifier_version = $version AND target_class = $class AND method = $method
            ORDER BY created_utc DESC, rowid DESC LIMIT 1;
            """;
        AddKey(command, key);
        return ReadOne(command);
    }

    /// <summary>A direction by its id, or null.</summary>
    public StoredDirection? Get(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM directions WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        return ReadOne(command);
    }

    private const string Columns = "id, generator_sha256, classifier_name, classifier_version, target_class, method, direction, " +
        "held_out_accuracy, held_out_auc, num_train_samples, num_held_out_samples, labelling, settings, created_utc";

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void AddKey(SqliteCommand command, DirectionKey key)
    {
        command.Parameters.AddWithValue("$sha", key.GeneratorSha256);
        command.Parameters.AddWithValue("$name", key.ClassifierName);
        command.Parameters.AddWithValue("$version", key.ClassifierVersion);
        command.Parameters.AddWithValue("$class", key.TargetClass);
        command.Parameters.AddWithValue("$method", key.Method);
    }

    private static StoredDirection? ReadOne(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        var key = new DirectionKey(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetString(5));
        var bytes = (byte[])reader.GetValue(6);
        var vector = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        double auc = reader.GetDouble(8);
        var probe = new ProbeResult(vector, reader.GetDouble(7), auc < 0 ? double.NaN : auc, reader.GetInt32(9), reader.GetInt32(10), reader.GetString(11));
        var settings = JsonSerializer.Deserialize<ProbeSettings>(reader.GetString(12)) ?? new ProbeSettings();
        var created = DateTimeOffset.Parse(reader.GetString(13), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        return new StoredDirection(reader.GetString(0), key, vector, probe, settings, created);
    }
}
