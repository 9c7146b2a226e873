console.log("working hard, but I forgot to listen on $PORT");
setInterval(() => {}, 1000);
