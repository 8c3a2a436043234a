global using OutboxSync.Testing;
global using Xunit;
