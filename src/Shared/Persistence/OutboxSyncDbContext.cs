using System.Text;
using Microsoft.EntityFrameworkCore;
using OutboxSync.Outbox;
using OutboxSync.Resources;

namespace OutboxSync.Persistence;

/// <summary>EF Core model over the schema in migrations/ (the SQL files own the schema; EF only maps it).</summary>
public sealed class OutboxSyncDbContext(DbContextOptions<OutboxSyncDbContext> options) : DbContext(options)
{
    public DbSet<Network> Networks => Set<Network>();
    public DbSet<Subnet> Subnets => Set<Subnet>();
    public DbSet<Port> Ports => Set<Port>();
    public DbSet<Router> Routers => Set<Router>();
    public DbSet<SecurityGroup> SecurityGroups => Set<SecurityGroup>();
    public DbSet<SecurityGroupRule> SecurityGroupRules => Set<SecurityGroupRule>();
    public DbSet<SubnetPool> SubnetPools => Set<SubnetPool>();
    public DbSet<IpAllocation> IpAllocations => Set<IpAllocation>();
    public DbSet<RouterInterface> RouterInterfaces => Set<RouterInterface>();
    public DbSet<OutboxEntry> OutboxEntries => Set<OutboxEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Network>().ToTable("networks");
        modelBuilder.Entity<Subnet>(e =>
        {
            e.ToTable("subnets");
            e.Property(s => s.AllocationPools).HasColumnType("jsonb");
            e.Property(s => s.HostRoutes).HasColumnType("jsonb");
            // Declared so EF Core inserts a new pool before a subnet cut from it in one SaveChanges.
            e.HasOne<SubnetPool>().WithMany().HasForeignKey(s => s.SubnetpoolId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<SubnetPool>().ToTable("subnetpools");
        modelBuilder.Entity<Port>(e =>
        {
            e.ToTable("ports");
            e.HasMany(p => p.FixedIps).WithOne().HasForeignKey(a => a.PortId).OnDelete(DeleteBehavior.Cascade);
            e.Property(p => p.BindingProfile).HasColumnType("jsonb");
        });
        modelBuilder.Entity<IpAllocation>(e =>
        {
            e.ToTable("ip_allocations");
            e.HasKey(a => new { a.SubnetId, a.IpAddress });
        });
        modelBuilder.Entity<Router>(e =>
        {
            e.ToTable("routers");
            e.Property(r => r.ExternalGatewayInfo).HasColumnType("jsonb");
            e.Property(r => r.Routes).HasColumnType("jsonb");
        });
        modelBuilder.Entity<SecurityGroup>().ToTable("security_groups");
        modelBuilder.Entity<SecurityGroupRule>(e =>
        {
            e.ToTable("security_group_rules");
            // Declared so EF Core inserts a new group before its rules in one SaveChanges.
            e.HasOne<SecurityGroup>().WithMany().HasForeignKey(r => r.SecurityGroupId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<SecurityGroup>().WithMany().HasForeignKey(r => r.RemoteGroupId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<RouterInterface>(e =>
        {
            e.ToTable("router_interfaces");
            e.HasKey(i => i.PortId);
        });
        modelBuilder.Entity<OutboxEntry>(e =>
        {
            e.ToTable("outbox_entries");
            e.HasKey(o => o.Seq);
            e.Property(o => o.Seq).UseIdentityAlwaysColumn();
            e.Property(o => o.Payload).HasColumnType("jsonb");
            // Due "now" by the database clock, which the worker's claim compares against; an API host whose
            // clock runs ahead must not delay its own entries.
            e.Property(o => o.NextAttemptAt).HasDefaultValueSql("clock_timestamp()");
        });

        foreach (var type in new[] { typeof(Network), typeof(Subnet), typeof(Port), typeof(Router), typeof(SecurityGroup), typeof(SecurityGroupRule), typeof(SubnetPool) })
        {
            modelBuilder.Entity(type).Ignore(nameof(StandardResource.Type));
            modelBuilder.Entity(type).HasKey(nameof(StandardResource.Id));
            modelBuilder.Entity(type).Property(nameof(StandardResource.Id)).ValueGeneratedNever();
        }

        // The SQL schema is snake_case; map every property to its column without a naming package.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
            }
        }
    }

    private static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
