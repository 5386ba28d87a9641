const t=Date.now(); await import('@azure/arm-network'); console.log('import ms', Date.now()-t, 'rss MB', Math.round(process.memoryUsage().rss/1e6));
