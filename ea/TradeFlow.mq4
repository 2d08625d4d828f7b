//+------------------------------------------------------------------+
//| TradeFlow.mq4 - TradeFlow's Expert Advisor for MetaTrader 4       |
//| Pulls orders from TradeFlow over HTTPS (WebRequest), executes     |
//| them and reports the account. Contract: docs/ea-protocol.md.      |
//+------------------------------------------------------------------+
#property copyright "TradeFlow"
#property link      "https://tradeflow.example.com"
#property version   "1.00"
#property description "TradingView alerts -> TradeFlow -> this terminal."
#property description "Add ServerUrl to Tools > Options > Expert Advisors > Allow WebRequest."
#property strict

input string ServerUrl       = "https://tradeflow.example.com"; // TradeFlow URL (also in the WebRequest list)
input string Token           = "";                              // EA token from the account page (tfea_...)
input string SymbolSuffix    = "";                              // Broker's symbol suffix, e.g. ".r"
input int    MagicNumber     = 20261204;                        // Magic number of TradeFlow's orders
input int    Slippage        = 20;                              // Max deviation of market orders, points
input int    MaxRetrySeconds = 30;                              // Longest wait between failed requests, s

#define EA_VERSION   "1.0.0"
#define PLATFORM     "MT4"
#define TOKEN_PREFIX "tfea_"

#define PATH_HELLO     "/api/ea/hello"
#define PATH_COMMANDS  "/api/ea/commands"
#define PATH_ACK       "/api/ea/ack"
#define PATH_HEARTBEAT "/api/ea/heartbeat"

#define ACTION_OPEN    "open"
#define ACTION_CLOSE   "close"
#define ACTION_CANCEL  "cancel"
#define ACTION_FLATTEN "flatten"

#define TYPE_MARKET "market"
#define TYPE_LIMIT  "limit"
#define TYPE_STOP   "stop"

#define SIDE_BUY  "buy"
#define SIDE_SELL "sell"

#define STATUS_FILLED           "filled"
#define STATUS_PARTIALLY_FILLED "partially_filled"
#define STATUS_ACCEPTED         "accepted"
#define STATUS_REJECTED         "rejected"
#define STATUS_EXPIRED          "expired"
#define STATUS_CANCELLED        "cancelled"

#define CODE_TOKEN_INVALID    "ea-token-invalid"
#define CODE_ACCOUNT_MISMATCH "ea-account-mismatch"
#define CODE_SESSION_REPLACED "ea-session-replaced"

// retcode_text words of ours, sent with retcode 0
#define WORD_AFTER_FAILED     "after-failed"
#define WORD_SYMBOL_NOT_FOUND "symbol-not-found"
#define WORD_TRADE_DISABLED   "trade-disabled"
#define WORD_NO_POSITION      "no-position"
#define WORD_ORDER_NOT_FOUND  "order-not-found"
#define WORD_FOUND_BY_COMMENT "found-by-comment"

#define IDS_MAX     500   // executed command ids kept in the file
#define COMMENT_MAX 31    // what MetaTrader keeps of an order comment
#define EPS         1e-8
#define ERR_GONE    4108  // ERR_INVALID_TICKET: the order or position is not there

// The result of one command, turned into its acknowledgement.
struct Outcome {
   string status;
   int    retcode;
   string text;
   long   ticket;
   double volume;
   double notional;   // sum of volume * price, for the average price
   int    pdigits;
   int    vdigits;
};

string g_base        = "";     // ServerUrl without a trailing slash
string g_session     = "";
bool   g_hello_ok    = false;
bool   g_stopped     = false;
int    g_wait_s      = 10;
int    g_heartbeat_s = 30;
int    g_backoff_s   = 0;
uint   g_fail_tick   = 0;
bool   g_hb_sent     = false;
uint   g_hb_tick     = 0;
bool   g_hb_force    = true;
string g_digest      = "";
uint   g_replaced_tick = 0;
int    g_replaced    = 0;
int    g_last_err    = 0;
bool   g_ids_loaded  = false;
string g_ids_file    = "";
int    g_ids_lines   = 0;
string g_ids[];                // executed command ids, oldest first
string g_acks[];               // the last acknowledgement of each
string g_track_id[];           // accepted pending orders waiting to fill
long   g_track_ticket[];
string g_outbox[];             // acknowledgements not delivered yet

//+------------------------------------------------------------------+
//| Life                                                             |
//+------------------------------------------------------------------+
int OnInit() {
   if(StringFind(ServerUrl,"https://")!=0 && StringFind(ServerUrl,"http://")!=0) {
      Print("TradeFlow: ServerUrl must start with https:// (it is '",ServerUrl,"')");
      return(INIT_PARAMETERS_INCORRECT);
   }
   if(StringFind(Token,TOKEN_PREFIX)!=0) {
      Print("TradeFlow: paste the EA token (",TOKEN_PREFIX,"...) from TradeFlow's account page into Token");
      return(INIT_PARAMETERS_INCORRECT);
   }
   if(Slippage<0 || MaxRetrySeconds<1) {
      Print("TradeFlow: Slippage must be >= 0 and MaxRetrySeconds >= 1");
      return(INIT_PARAMETERS_INCORRECT);
   }
   g_base=ServerUrl;
   while(StringLen(g_base)>0 && StringSubstr(g_base,StringLen(g_base)-1)=="/")
      g_base=StringSubstr(g_base,0,StringLen(g_base)-1);
   // Globals survive a chart or input change: start clean.
   g_session=""; g_hello_ok=false; g_stopped=false; g_backoff_s=0; g_hb_sent=false;
   g_hb_force=true; g_replaced=0; g_last_err=0; g_ids_loaded=false;
   ArrayResize(g_ids,0); ArrayResize(g_acks,0); ArrayResize(g_outbox,0);
   ArrayResize(g_track_id,0); ArrayResize(g_track_ticket,0);

   if(!EventSetMillisecondTimer(250)) {
      Print("TradeFlow: cannot start the timer, error ",GetLastError());
      return(INIT_FAILED);
   }
   SetStatus("starting");
   // No network yet after a terminal restart: the timer keeps trying.
   if(Ready()) {
      if(Hello())
         Ok();
      else if(!g_stopped)
         Fail();
   }
   return(INIT_SUCCEEDED);
}

void OnDeinit(const int reason) {
   EventKillTimer();
   Comment("");
}

void OnTick() {
}

void OnTimer() {
   if(g_stopped) return;
   if(g_backoff_s>0 && Since(g_fail_tick)<(uint)g_backoff_s*1000) return;
   if(!Ready()) return;
   if(Cycle())
      Ok();
   else if(!g_stopped)
      Fail();
}

// One round: hello if needed, follow-ups, heartbeat, one long poll.
bool Cycle() {
   if(!g_hello_ok && !Hello()) return(false);
   ScanTracked();
   if(!FlushOutbox()) return(false);
   if(HeartbeatDue() && !Heartbeat()) return(false);
   return(Poll());
}

// The account is known (after a restart it may not be yet) and its ids are loaded.
bool Ready() {
   long login=AccountInfoInteger(ACCOUNT_LOGIN);
   if(login==0) {
      SetStatus("waiting for the trade account");
      return(false);
   }
   if(!g_ids_loaded)
      IdsLoad(login);
   return(true);
}

void Ok() {
   if(g_backoff_s>0)
      SetStatus("online");
   g_backoff_s=0;
}

void Fail() {
   g_backoff_s=Clamp(g_backoff_s*2,1,MaxRetrySeconds);
   g_fail_tick=GetTickCount();
   SetStatus(StringFormat("offline, next try in %d s",g_backoff_s));
}

void Stop(const string reason) {
   g_stopped=true;
   g_hello_ok=false;
   Print("TradeFlow: STOPPED - ",reason);
   SetStatus("STOPPED - "+reason+"\nFix it, then attach the EA again.");
}

void SetStatus(const string text) {
   Comment("TradeFlow EA ",EA_VERSION," (",PLATFORM,"): ",text);
}

uint Since(const uint tick) {
   return(GetTickCount()-tick);
}

//+------------------------------------------------------------------+
//| Requests                                                         |
//+------------------------------------------------------------------+
bool Hello() {
   string b="";
   JsonAddStr(b,"platform",PLATFORM);
   JsonAddInt(b,"build",TerminalInfoInteger(TERMINAL_BUILD));
   JsonAddStr(b,"ea_version",EA_VERSION);
   JsonAddInt(b,"login",AccountInfoInteger(ACCOUNT_LOGIN));
   JsonAddStr(b,"server",AccountServer());
   JsonAddStr(b,"broker",AccountCompany());
   JsonAddStr(b,"currency",AccountCurrency());
   JsonAddInt(b,"leverage",AccountLeverage());
   JsonAddBool(b,"hedging",true);
   JsonAddInt(b,"magic",MagicNumber);
   JsonAddStr(b,"suffix",SymbolSuffix);
   JsonAddBool(b,"trade_allowed",TradeAllowed());
   JsonAddInt(b,"time",(long)TimeGMT());
   string answer;
   int status=Http("POST",PATH_HELLO,"{"+b+"}",5000,answer);
   if(status!=200) return(Refused(status,answer,"hello"));
   string session=JsonGet(answer,"session");
   if(session=="") {
      Print("TradeFlow: the hello answer has no session: ",answer);
      return(false);
   }
   g_session=session;
   g_wait_s=Clamp(JsonGetInt(answer,"wait_s",10),0,60);
   g_heartbeat_s=Clamp(JsonGetInt(answer,"heartbeat_s",30),5,3600);
   g_hello_ok=true;
   g_hb_force=true;
   Print("TradeFlow: connected to ",g_base," as login ",IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN)),", session ",g_session);
   SetStatus("online");
   return(true);
}

bool HeartbeatDue() {
   if(!g_hb_sent) return(true);
   uint since=Since(g_hb_tick);
   if(since>=(uint)g_heartbeat_s*1000) return(true);
   if(since<1000) return(false);
   return(g_hb_force || Digest()!=g_digest);
}

bool Heartbeat() {
   string digest=Digest();
   string b="";
   JsonAddStr(b,"session",g_session);
   JsonAddStr(b,"balance",Money(AccountBalance()));
   JsonAddStr(b,"equity",Money(AccountEquity()));
   JsonAddStr(b,"margin",Money(AccountMargin()));
   JsonAddStr(b,"free_margin",Money(AccountFreeMargin()));
   JsonAddStr(b,"currency",AccountCurrency());
   JsonAddBool(b,"connected",IsConnected());
   JsonAddBool(b,"trade_allowed",TradeAllowed());
   JsonAddInt(b,"time",(long)TimeGMT());
   string positions="", orders="";
   AccountJson(positions,orders);
   JsonAddRaw(b,"positions",positions);
   JsonAddRaw(b,"orders",orders);
   string answer;
   int status=Http("POST",PATH_HEARTBEAT,"{"+b+"}",5000,answer);
   if(status!=200) return(Refused(status,answer,"heartbeat"));
   g_heartbeat_s=Clamp(JsonGetInt(answer,"heartbeat_s",g_heartbeat_s),5,3600);
   g_hb_sent=true;
   g_hb_tick=GetTickCount();
   g_hb_force=false;
   g_digest=digest;
   return(true);
}

bool Poll() {
   string path=PATH_COMMANDS+"?"+UrlParam("session",g_session)+"&"+UrlParam("wait",IntegerToString(g_wait_s));
   string answer;
   int status=Http("GET",path,"",(g_wait_s+5)*1000,answer);
   if(status!=200) return(Refused(status,answer,"poll"));
   uint received=GetTickCount();
   g_wait_s=Clamp(JsonGetInt(answer,"wait_s",g_wait_s),0,60);
   string cmds[];
   int n=JsonGetArray(answer,"commands",cmds);
   // Execute them all first (a flip's entry must not wait for the exit's ack).
   for(int i=0;i<n;i++) {
      string ack=Handle(cmds[i],received);
      if(ack!="")
         Enqueue(ack);
   }
   if(n>0)
      g_hb_force=true;
   return(FlushOutbox());
}

bool FlushOutbox() {
   while(ArraySize(g_outbox)>0) {
      string answer;
      int status=Http("POST",PATH_ACK,g_outbox[0],5000,answer);
      if(status==400 || status==404)
         Print("TradeFlow: ack refused (HTTP ",status," ",JsonGet(answer,"code"),"), dropped: ",g_outbox[0]);
      else if(status!=200) return(Refused(status,answer,"ack"));
      StrShift(g_outbox);
   }
   return(true);
}

void Enqueue(const string ack) {
   int n=ArraySize(g_outbox);
   for(int i=0;i<n;i++)
      if(g_outbox[i]==ack) return;
   ArrayResize(g_outbox,n+1);
   g_outbox[n]=ack;
}

// A request that did not answer 200: stop, say hello again, or retry later.
bool Refused(const int status,const string answer,const string what) {
   string code=JsonGet(answer,"code");
   if(status==401 || code==CODE_TOKEN_INVALID)
      Stop("the EA token was refused: paste the current token from TradeFlow's account page");
   else if(code==CODE_ACCOUNT_MISMATCH)
      Stop("this token belongs to another MetaTrader account (login/server)");
   else if(code==CODE_SESSION_REPLACED) {
      g_replaced=(g_replaced_tick!=0 && Since(g_replaced_tick)<60000) ? g_replaced+1 : 1;
      g_replaced_tick=GetTickCount();
      g_hello_ok=false;
      if(g_replaced>=3)
         Stop("another chart or terminal uses this token; keep one TradeFlow EA per account");
      else
         Print("TradeFlow: session replaced by a newer one, saying hello again");
   }
   else if(status>0)
      Print("TradeFlow: ",what," answered HTTP ",status," ",code,": ",JsonGet(answer,"detail"));
   return(false);
}

int Http(const string method,const string path,const string body,const int timeout_ms,string &answer) {
   char data[];
   char result[];
   string result_headers;
   string headers="Authorization: Bearer "+Token+"\r\nContent-Type: application/json\r\nAccept: application/json\r\n";
   ArrayResize(data,0);
   if(body!="") {
      int n=StringToCharArray(body,data,0,WHOLE_ARRAY,CP_UTF8);
      if(n>0)
         ArrayResize(data,n-1);   // no trailing NUL on the wire
   }
   answer="";
   ResetLastError();
   int status=WebRequest(method,g_base+path,headers,timeout_ms,data,result,result_headers);
   if(status==-1) {
      int err=GetLastError();
      if(err!=g_last_err) {
         if(err==4060 || (err>=5200 && err<=5203))
            Print("TradeFlow: WebRequest failed (error ",err,"). Add ",g_base," to Tools > Options > Expert Advisors > ",
                  "'Allow WebRequest for listed URL', and check the terminal can reach it.");
         else
            Print("TradeFlow: WebRequest to ",path," failed, error ",err);
      }
      g_last_err=err;
      return(-1);
   }
   g_last_err=0;
   answer=CharArrayToString(result,0,WHOLE_ARRAY,CP_UTF8);
   return(status);
}

//+------------------------------------------------------------------+
//| Commands                                                         |
//+------------------------------------------------------------------+
// The acknowledgement of one command ("" for none); executes it at most once.
string Handle(const string cmd,const uint received) {
   string id=JsonGet(cmd,"id");
   if(id=="") {
      Print("TradeFlow: a command without an id, ignored: ",cmd);
      return("");
   }
   int k=IdsFind(id);
   if(k>=0)
      return(g_acks[k]);   // executed before: the same answer again
   Outcome o;
   Execute(cmd,received,o);
   string ack=AckBody(id,o);
   IdsPut(id,ack);          // recorded before it is sent
   if(o.status==STATUS_ACCEPTED && o.ticket>0)
      Track(id,o.ticket);
   Print("TradeFlow: ",id," ",JsonGet(cmd,"action")," ",JsonGet(cmd,"symbol")," -> ",o.status," ",o.text);
   return(ack);
}

void Execute(const string cmd,const uint received,Outcome &o) {
   OutcomeInit(o,5,2);
   string ttl=JsonGet(cmd,"ttl_ms");
   if(ttl!="" && (long)Since(received)>StringToInteger(ttl)) {
      // Too late to start it; but an open this terminal already made (its ids
      // file lost) is acknowledged from the broker, not as expired.
      string late=StringSubstr(JsonGet(cmd,"comment"),0,COMMENT_MAX);
      string late_sym=JsonGet(cmd,"symbol")+SymbolSuffix;
      if(JsonGet(cmd,"action")==ACTION_OPEN && late!="" && SymbolSelect(late_sym,true)
         && FoundByComment(late_sym,late,o))
         return;
      OutcomeSet(o,STATUS_EXPIRED,0,"");
      return;
   }
   string after=JsonGet(cmd,"after");
   if(after!="" && !WasFilled(after)) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_AFTER_FAILED);
      return;
   }
   if(!TradeAllowed()) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_TRADE_DISABLED);
      return;
   }
   string action=JsonGet(cmd,"action");
   string sym="";
   string name=JsonGet(cmd,"symbol");
   if(name!="") {
      sym=name+SymbolSuffix;
      if(!SymbolSelect(sym,true)) {
         OutcomeSet(o,STATUS_REJECTED,0,WORD_SYMBOL_NOT_FOUND);
         return;
      }
      OutcomeInit(o,(int)MarketInfo(sym,MODE_DIGITS),VolDigits(MarketInfo(sym,MODE_LOTSTEP)));
   }
   if(action==ACTION_FLATTEN)
      DoFlatten(sym,o);
   else if(action==ACTION_CANCEL)
      DoCancel(cmd,o);
   else if(sym=="" && (action==ACTION_OPEN || action==ACTION_CLOSE))
      OutcomeSet(o,STATUS_REJECTED,0,WORD_SYMBOL_NOT_FOUND);
   else if(action==ACTION_OPEN)
      DoOpen(cmd,sym,o);
   else if(action==ACTION_CLOSE)
      DoClose(cmd,sym,o);
   else
      OutcomeSet(o,STATUS_REJECTED,3,RetcodeText(3));
}

bool WasFilled(const string id) {
   int k=IdsFind(id);
   if(k<0) return(false);
   string status=JsonGet(g_acks[k],"status");
   return(status==STATUS_FILLED || status==STATUS_PARTIALLY_FILLED);
}

void DoOpen(const string cmd,const string sym,Outcome &o) {
   int op=-1;
   if(!OrderTypeOf(JsonGet(cmd,"side"),JsonGet(cmd,"type"),op)) {
      OutcomeSet(o,STATUS_REJECTED,3,RetcodeText(3));
      return;
   }
   string comment=StringSubstr(JsonGet(cmd,"comment"),0,COMMENT_MAX);
   // After a restart without the id file: did this order reach the broker already?
   if(comment!="" && FoundByComment(sym,comment,o)) return;
   double volume=VolumeDown(StringToDouble(JsonGet(cmd,"volume")),MarketInfo(sym,MODE_LOTSTEP));
   if(volume<=0 || volume<MarketInfo(sym,MODE_MINLOT)-EPS || volume>MarketInfo(sym,MODE_MAXLOT)+EPS) {
      OutcomeSet(o,STATUS_REJECTED,10014,RetcodeText(10014));   // the spec's code for "invalid volume"
      return;
   }
   int digits=(int)MarketInfo(sym,MODE_DIGITS);
   double price=NormalizeDouble(StringToDouble(JsonGet(cmd,"price")),digits);
   double sl=NormalizeDouble(StringToDouble(JsonGet(cmd,"sl")),digits);
   double tp=NormalizeDouble(StringToDouble(JsonGet(cmd,"tp")),digits);
   bool market=(op==OP_BUY || op==OP_SELL);
   if(!market && price<=0) {
      OutcomeSet(o,STATUS_REJECTED,129,RetcodeText(129));
      return;
   }
   int magic=(int)StringToInteger(JsonGet(cmd,"magic"));
   if(magic==0)
      magic=MagicNumber;
   int ticket=-1, err=0;
   double px=price;
   for(int attempt=0;attempt<3;attempt++) {
      WaitTradeContext();
      RefreshRates();
      if(market)
         px=NormalizeDouble(MarketInfo(sym,op==OP_BUY ? MODE_ASK : MODE_BID),digits);
      ResetLastError();
      ticket=OrderSend(sym,op,volume,px,Slippage,sl,tp,comment,magic,0,clrNONE);
      if(ticket>0) break;
      err=LastError();
      if(!Retryable(err)) break;
      Sleep(200);
   }
   if(ticket<=0) {
      // Timed out: it may have been filled all the same.
      if(err==128 && comment!="" && FoundByComment(sym,comment,o)) return;
      OutcomeSet(o,STATUS_REJECTED,err,RetcodeText(err));
      return;
   }
   o.ticket=ticket;
   if(!market) {
      OutcomeSet(o,STATUS_ACCEPTED,0,RetcodeText(0));
      return;
   }
   if(OrderSelect(ticket,SELECT_BY_TICKET))
      OutcomeFill(o,OrderLots(),OrderOpenPrice());
   else
      OutcomeFill(o,volume,px);
   OutcomeSet(o,STATUS_FILLED,0,RetcodeText(0));
}

// Close `volume` of the positions on the side opposite `side`, oldest first.
void DoClose(const string cmd,const string sym,Outcome &o) {
   string side=JsonGet(cmd,"side");
   if(side!=SIDE_BUY && side!=SIDE_SELL) {
      OutcomeSet(o,STATUS_REJECTED,3,RetcodeText(3));
      return;
   }
   int want=(side==SIDE_SELL) ? OP_BUY : OP_SELL;
   double wanted=VolumeDown(StringToDouble(JsonGet(cmd,"volume")),MarketInfo(sym,MODE_LOTSTEP));
   bool all=(wanted<=0);   // no volume: all of that side
   double left=wanted;
   int tickets[];
   int n=TradesOf(sym,want,tickets);
   if(n==0) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_NO_POSITION);
      return;
   }
   int err=0;
   for(int i=0;i<n && (all || left>EPS);i++) {
      if(!OrderSelect(tickets[i],SELECT_BY_TICKET)) continue;
      double v=all ? OrderLots() : MathMin(OrderLots(),left);
      err=CloseTicket(tickets[i],v,o);
      if(err!=0) break;
      left-=v;
   }
   if(o.volume<=EPS)
      OutcomeSet(o,STATUS_REJECTED,err,RetcodeText(err));
   else {
      bool done=(err==0) && (all || left<=EPS);
      OutcomeSet(o,done ? STATUS_FILLED : STATUS_PARTIALLY_FILLED,err,RetcodeText(err));
   }
}

void DoCancel(const string cmd,Outcome &o) {
   int ticket=(int)StringToInteger(JsonGet(cmd,"ticket"));
   o.ticket=ticket;
   if(ticket<=0 || !OrderSelect(ticket,SELECT_BY_TICKET) || OrderCloseTime()!=0 || OrderType()<=OP_SELL) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_ORDER_NOT_FOUND);
      return;
   }
   int err=DeleteTicket(ticket);
   OutcomeSet(o,err==0 ? STATUS_CANCELLED : STATUS_REJECTED,err,RetcodeText(err));
}

// Close every position and delete every pending order of sym ("" = all).
void DoFlatten(const string sym,Outcome &o) {
   int err=0;
   bool failed=false;
   for(int pass=0;pass<3;pass++) {
      failed=false;
      int tickets[];
      int n=TradesOf(sym,-1,tickets);
      for(int i=0;i<n;i++) {
         if(!OrderSelect(tickets[i],SELECT_BY_TICKET)) continue;
         int e=CloseTicket(tickets[i],OrderLots(),o);
         if(e!=0 && e!=ERR_GONE) {
            failed=true;
            err=e;
         }
      }
      int orders[];
      int m=PendingOf(sym,orders);
      for(int j=0;j<m;j++) {
         int e=DeleteTicket(orders[j]);
         if(e!=0 && e!=ERR_GONE) {
            failed=true;
            err=e;
         }
      }
      if(!failed) break;
      Sleep(300);
   }
   o.ticket=0;
   if(sym=="")
      o.notional=0;   // no one price across symbols
   if(!failed)
      OutcomeSet(o,STATUS_FILLED,0,RetcodeText(0));
   else
      OutcomeSet(o,o.volume>EPS ? STATUS_PARTIALLY_FILLED : STATUS_REJECTED,err,RetcodeText(err));
}

// Closes v lots of a market order (partly when v is less than its lots); 0 or the error.
int CloseTicket(const int ticket,const double v,Outcome &o) {
   int err=0;
   for(int attempt=0;attempt<3;attempt++) {
      if(!OrderSelect(ticket,SELECT_BY_TICKET) || OrderCloseTime()!=0) return(ERR_GONE);
      string sym=OrderSymbol();
      int digits=(int)MarketInfo(sym,MODE_DIGITS);
      WaitTradeContext();
      RefreshRates();
      double px=NormalizeDouble(MarketInfo(sym,OrderType()==OP_BUY ? MODE_BID : MODE_ASK),digits);
      ResetLastError();
      if(OrderClose(ticket,v,px,Slippage,clrNONE)) {
         if(o.ticket==0)
            o.ticket=ticket;
         // The closed part stays in the history under this ticket.
         if(OrderSelect(ticket,SELECT_BY_TICKET,MODE_HISTORY))
            OutcomeFill(o,OrderLots(),OrderClosePrice());
         else
            OutcomeFill(o,v,px);
         return(0);
      }
      err=LastError();
      if(!Retryable(err)) break;
      Sleep(200);
   }
   return(err);
}

int DeleteTicket(const int ticket) {
   int err=0;
   for(int attempt=0;attempt<3;attempt++) {
      if(!OrderSelect(ticket,SELECT_BY_TICKET) || OrderCloseTime()!=0) return(ERR_GONE);
      WaitTradeContext();
      ResetLastError();
      if(OrderDelete(ticket,clrNONE)) return(0);
      err=LastError();
      if(!Retryable(err)) break;
      Sleep(200);
   }
   return(err);
}

// GetLastError(), never 0 after a failed trade call.
int LastError() {
   int err=GetLastError();
   return(err==0 ? 2 : err);
}

bool Retryable(const int err) {
   return(err==4 || err==8 || err==129 || err==135 || err==136 || err==137 || err==138 || err==146);
}

void WaitTradeContext() {
   for(int i=0;i<50 && IsTradeContextBusy();i++)
      Sleep(100);
}

bool OrderTypeOf(const string side,const string type,int &op) {
   bool buy=(side==SIDE_BUY);
   if(!buy && side!=SIDE_SELL) return(false);
   if(type==TYPE_MARKET || type=="")
      op=buy ? OP_BUY : OP_SELL;
   else if(type==TYPE_LIMIT)
      op=buy ? OP_BUYLIMIT : OP_SELLLIMIT;
   else if(type==TYPE_STOP)
      op=buy ? OP_BUYSTOP : OP_SELLSTOP;
   else
      return(false);
   return(true);
}

// The broker may append "[sl]" or "[tp]" to the comment of a closed order.
bool CommentIs(const string actual,const string wanted) {
   if(actual==wanted) return(true);
   return(StringFind(actual,wanted)==0 && StringSubstr(actual,StringLen(wanted),1)=="[");
}

// An open position, pending order or recent closed position carrying this comment.
bool FoundByComment(const string sym,const string comment,Outcome &o) {
   for(int i=OrdersTotal()-1;i>=0;i--) {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES) || OrderSymbol()!=sym || !CommentIs(OrderComment(),comment))
         continue;
      o.ticket=OrderTicket();
      if(OrderType()<=OP_SELL) {
         OutcomeSet(o,STATUS_FILLED,0,WORD_FOUND_BY_COMMENT);
         OutcomeFill(o,OrderLots(),OrderOpenPrice());
      }
      else
         OutcomeSet(o,STATUS_ACCEPTED,0,WORD_FOUND_BY_COMMENT);
      return(true);
   }
   datetime since=TimeCurrent()-86400;
   for(int i=OrdersHistoryTotal()-1;i>=0;i--) {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_HISTORY) || OrderType()>OP_SELL || OrderOpenTime()<since) continue;
      if(OrderSymbol()!=sym || !CommentIs(OrderComment(),comment)) continue;
      o.ticket=OrderTicket();
      OutcomeSet(o,STATUS_FILLED,0,WORD_FOUND_BY_COMMENT);
      OutcomeFill(o,OrderLots(),OrderOpenPrice());
      return(true);
   }
   return(false);
}

// Accepted pending orders that filled or went: acknowledge them once more.
void ScanTracked() {
   for(int i=ArraySize(g_track_id)-1;i>=0;i--) {
      int t=(int)g_track_ticket[i];
      if(!OrderSelect(t,SELECT_BY_TICKET)) continue;
      bool pending=(OrderType()>OP_SELL);
      if(pending && OrderCloseTime()==0)
         continue;               // still working
      string sym=OrderSymbol();
      Outcome o;
      OutcomeInit(o,(int)MarketInfo(sym,MODE_DIGITS),VolDigits(MarketInfo(sym,MODE_LOTSTEP)));
      o.ticket=t;
      if(!pending) {             // a filled pending order keeps its ticket
         OutcomeFill(o,OrderLots(),OrderOpenPrice());
         OutcomeSet(o,STATUS_FILLED,0,RetcodeText(0));
      }
      else
         OutcomeSet(o,STATUS_CANCELLED,0,"");
      string ack=AckBody(g_track_id[i],o);
      IdsPut(g_track_id[i],ack);
      Enqueue(ack);
      Untrack(i);
      g_hb_force=true;
   }
}

void Track(const string id,const long ticket) {
   int n=ArraySize(g_track_id);
   ArrayResize(g_track_id,n+1);
   ArrayResize(g_track_ticket,n+1);
   g_track_id[n]=id;
   g_track_ticket[n]=ticket;
}

void Untrack(const int i) {
   int last=ArraySize(g_track_id)-1;
   g_track_id[i]=g_track_id[last];
   g_track_ticket[i]=g_track_ticket[last];
   ArrayResize(g_track_id,last);
   ArrayResize(g_track_ticket,last);
}

//+------------------------------------------------------------------+
//| Account                                                          |
//+------------------------------------------------------------------+
// Tickets of the market orders of sym ("" = all) of one type (-1 = both), oldest first.
int TradesOf(const string sym,const int want,int &tickets[]) {
   datetime times[];
   ArrayResize(tickets,0);
   ArrayResize(times,0);
   for(int i=OrdersTotal()-1;i>=0;i--) {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES) || OrderType()>OP_SELL) continue;
      if((sym!="" && OrderSymbol()!=sym) || (want>=0 && OrderType()!=want)) continue;
      int n=ArraySize(tickets);
      ArrayResize(tickets,n+1);
      ArrayResize(times,n+1);
      tickets[n]=OrderTicket();
      times[n]=OrderOpenTime();
   }
   int count=ArraySize(tickets);
   for(int a=1;a<count;a++) {        // insertion sort by opening time, then ticket
      int t=tickets[a];
      datetime when=times[a];
      int b=a-1;
      while(b>=0 && (times[b]>when || (times[b]==when && tickets[b]>t))) {
         tickets[b+1]=tickets[b];
         times[b+1]=times[b];
         b--;
      }
      tickets[b+1]=t;
      times[b+1]=when;
   }
   return(count);
}

int PendingOf(const string sym,int &tickets[]) {
   ArrayResize(tickets,0);
   for(int i=OrdersTotal()-1;i>=0;i--) {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES) || OrderType()<=OP_SELL) continue;
      if(sym!="" && OrderSymbol()!=sym) continue;
      int n=ArraySize(tickets);
      ArrayResize(tickets,n+1);
      tickets[n]=OrderTicket();
   }
   return(ArraySize(tickets));
}

// Every market and pending order on the account, as the heartbeat's two lists.
void AccountJson(string &positions,string &orders) {
   string prows="", orows="";
   for(int i=0;i<OrdersTotal();i++) {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES)) continue;
      string sym=OrderSymbol();
      int d=(int)MarketInfo(sym,MODE_DIGITS);
      int type=OrderType();
      bool buy=(type==OP_BUY || type==OP_BUYLIMIT || type==OP_BUYSTOP);
      string p="";
      JsonAddStr(p,"ticket",IntegerToString(OrderTicket()));
      JsonAddStr(p,"symbol",StripSuffix(sym));
      JsonAddStr(p,"side",buy ? SIDE_BUY : SIDE_SELL);
      if(type>OP_SELL)
         JsonAddStr(p,"type",(type==OP_BUYLIMIT || type==OP_SELLLIMIT) ? TYPE_LIMIT : TYPE_STOP);
      JsonAddStr(p,"volume",Lots(sym,OrderLots()));
      JsonAddStr(p,"price",DoubleToString(OrderOpenPrice(),d));
      if(type<=OP_SELL) {
         JsonAddStr(p,"sl",DoubleToString(OrderStopLoss(),d));
         JsonAddStr(p,"tp",DoubleToString(OrderTakeProfit(),d));
         JsonAddStr(p,"profit",Money(OrderProfit()));
      }
      JsonAddStr(p,"magic",IntegerToString(OrderMagicNumber()));
      JsonAddStr(p,"comment",OrderComment());
      if(type<=OP_SELL)
         prows+=(prows=="" ? "" : ",")+"{"+p+"}";
      else
         orows+=(orows=="" ? "" : ",")+"{"+p+"}";
   }
   positions="["+prows+"]";
   orders="["+orows+"]";
}

// Changes when positions, orders or the balance change: an early heartbeat.
string Digest() {
   int trades=0, pending=0;
   double lots=0;
   for(int i=OrdersTotal()-1;i>=0;i--) {
      if(!OrderSelect(i,SELECT_BY_POS,MODE_TRADES)) continue;
      if(OrderType()<=OP_SELL)
         trades++;
      else
         pending++;
      lots+=OrderLots();
   }
   return(StringFormat("%d/%d/%.8f/%.2f",trades,pending,lots,AccountBalance()));
}

bool TradeAllowed() {
   return(TerminalInfoInteger(TERMINAL_TRADE_ALLOWED)!=0 && MQLInfoInteger(MQL_TRADE_ALLOWED)!=0 &&
          AccountInfoInteger(ACCOUNT_TRADE_ALLOWED)!=0 && AccountInfoInteger(ACCOUNT_TRADE_EXPERT)!=0);
}

string StripSuffix(const string sym) {
   int n=StringLen(sym), k=StringLen(SymbolSuffix);
   if(k>0 && n>k && StringSubstr(sym,n-k)==SymbolSuffix) return(StringSubstr(sym,0,n-k));
   return(sym);
}

//+------------------------------------------------------------------+
//| Outcomes and acknowledgements                                    |
//+------------------------------------------------------------------+
void OutcomeInit(Outcome &o,const int pdigits,const int vdigits) {
   o.status=STATUS_REJECTED;
   o.retcode=0;
   o.text="";
   o.ticket=0;
   o.volume=0;
   o.notional=0;
   o.pdigits=pdigits;
   o.vdigits=vdigits;
}

void OutcomeSet(Outcome &o,const string status,const int retcode,const string text) {
   o.status=status;
   o.retcode=retcode;
   o.text=text;
}

void OutcomeFill(Outcome &o,const double volume,const double price) {
   o.volume+=volume;
   o.notional+=volume*price;
}

string AckBody(const string id,const Outcome &o) {
   double price=(o.volume>EPS) ? o.notional/o.volume : 0.0;
   string b="";
   JsonAddStr(b,"id",id);
   JsonAddStr(b,"status",o.status);
   JsonAddInt(b,"retcode",o.retcode);
   JsonAddStr(b,"retcode_text",o.text);
   JsonAddStr(b,"ticket",o.ticket>0 ? IntegerToString(o.ticket) : "");
   JsonAddStr(b,"volume",DoubleToString(o.volume,o.vdigits));
   JsonAddStr(b,"price",DoubleToString(price,o.pdigits));
   JsonAddInt(b,"time",(long)TimeGMT());
   return("{"+b+"}");
}

string RetcodeText(const int err) {
   switch(err) {
      case 0:     return("ERR_NO_ERROR");
      case 1:     return("ERR_NO_RESULT");
      case 2:     return("ERR_COMMON_ERROR");
      case 3:     return("ERR_INVALID_TRADE_PARAMETERS");
      case 4:     return("ERR_SERVER_BUSY");
      case 5:     return("ERR_OLD_VERSION");
      case 6:     return("ERR_NO_CONNECTION");
      case 7:     return("ERR_NOT_ENOUGH_RIGHTS");
      case 8:     return("ERR_TOO_FREQUENT_REQUESTS");
      case 9:     return("ERR_MALFUNCTIONAL_TRADE");
      case 64:    return("ERR_ACCOUNT_DISABLED");
      case 65:    return("ERR_INVALID_ACCOUNT");
      case 128:   return("ERR_TRADE_TIMEOUT");
      case 129:   return("ERR_INVALID_PRICE");
      case 130:   return("ERR_INVALID_STOPS");
      case 131:   return("ERR_INVALID_TRADE_VOLUME");
      case 132:   return("ERR_MARKET_CLOSED");
      case 133:   return("ERR_TRADE_DISABLED");
      case 134:   return("ERR_NOT_ENOUGH_MONEY");
      case 135:   return("ERR_PRICE_CHANGED");
      case 136:   return("ERR_OFF_QUOTES");
      case 137:   return("ERR_BROKER_BUSY");
      case 138:   return("ERR_REQUOTE");
      case 139:   return("ERR_ORDER_LOCKED");
      case 140:   return("ERR_LONG_POSITIONS_ONLY_ALLOWED");
      case 141:   return("ERR_TOO_MANY_REQUESTS");
      case 145:   return("ERR_TRADE_MODIFY_DENIED");
      case 146:   return("ERR_TRADE_CONTEXT_BUSY");
      case 147:   return("ERR_TRADE_EXPIRATION_DENIED");
      case 148:   return("ERR_TRADE_TOO_MANY_ORDERS");
      case 149:   return("ERR_TRADE_HEDGE_PROHIBITED");
      case 150:   return("ERR_TRADE_PROHIBITED_BY_FIFO");
      case 4051:  return("ERR_INVALID_FUNCTION_PARAMVALUE");
      case 4106:  return("ERR_UNKNOWN_SYMBOL");
      case 4107:  return("ERR_INVALID_PRICE_PARAM");
      case 4108:  return("ERR_INVALID_TICKET");
      case 4109:  return("ERR_TRADE_NOT_ALLOWED");
      case 4110:  return("ERR_LONGS_NOT_ALLOWED");
      case 4111:  return("ERR_SHORTS_NOT_ALLOWED");
      case 10014: return("TRADE_RETCODE_INVALID_VOLUME");
   }
   return("ERR_"+IntegerToString(err));
}

//+------------------------------------------------------------------+
//| The executed-ids file: "<id>\t<ack json>" lines, last one wins    |
//+------------------------------------------------------------------+
void IdsLoad(const long login) {
   g_ids_loaded=true;
   g_ids_file="TradeFlow-"+IntegerToString(login)+".ids";
   g_ids_lines=0;
   ArrayResize(g_ids,0);
   ArrayResize(g_acks,0);
   ArrayResize(g_track_id,0);
   ArrayResize(g_track_ticket,0);
   int h=FileOpen(g_ids_file,FILE_READ|FILE_TXT|FILE_ANSI|FILE_SHARE_READ);
   if(h==INVALID_HANDLE)
      return;                 // first start on this account
   while(!FileIsEnding(h)) {
      string line=FileReadString(h);
      int tab=StringFind(line,"\t");
      if(tab<=0) continue;
      g_ids_lines++;
      Remember(StringSubstr(line,0,tab),StringSubstr(line,tab+1));
   }
   FileClose(h);
   if(g_ids_lines>ArraySize(g_ids))
      IdsRewrite();
   for(int k=0;k<ArraySize(g_ids);k++)
      if(JsonGet(g_acks[k],"status")==STATUS_ACCEPTED)
         Track(g_ids[k],StringToInteger(JsonGet(g_acks[k],"ticket")));
   Print("TradeFlow: ",ArraySize(g_ids)," executed commands remembered in ",g_ids_file);
}

int IdsFind(const string id) {
   for(int k=ArraySize(g_ids)-1;k>=0;k--)
      if(g_ids[k]==id) return(k);
   return(-1);
}

void Remember(const string id,const string ack) {
   int k=IdsFind(id);
   if(k<0) {
      k=ArraySize(g_ids);
      ArrayResize(g_ids,k+1);
      ArrayResize(g_acks,k+1);
      g_ids[k]=id;
   }
   g_acks[k]=ack;
   while(ArraySize(g_ids)>IDS_MAX) {
      StrShift(g_ids);
      StrShift(g_acks);
   }
}

void IdsPut(const string id,const string ack) {
   Remember(id,ack);
   int h=FileOpen(g_ids_file,FILE_READ|FILE_WRITE|FILE_TXT|FILE_ANSI|FILE_SHARE_READ);
   if(h==INVALID_HANDLE) {
      Print("TradeFlow: cannot write ",g_ids_file," (error ",GetLastError(),"): a restart may repeat ",id);
      return;
   }
   FileSeek(h,0,SEEK_END);
   FileWrite(h,id+"\t"+ack);
   FileClose(h);
   g_ids_lines++;
   if(g_ids_lines>2*IDS_MAX)
      IdsRewrite();
}

// Keeps only the remembered entries: written aside, then moved over the file.
void IdsRewrite() {
   string tmp=g_ids_file+".tmp";
   int h=FileOpen(tmp,FILE_WRITE|FILE_TXT|FILE_ANSI);
   if(h==INVALID_HANDLE) return;
   for(int k=0;k<ArraySize(g_ids);k++)
      FileWrite(h,g_ids[k]+"\t"+g_acks[k]);
   FileClose(h);
   if(FileMove(tmp,0,g_ids_file,FILE_REWRITE))
      g_ids_lines=ArraySize(g_ids);
}

void StrShift(string &a[]) {
   int n=ArraySize(a);
   for(int i=1;i<n;i++)
      a[i-1]=a[i];
   if(n>0)
      ArrayResize(a,n-1);
}

//+------------------------------------------------------------------+
//| Numbers                                                          |
//+------------------------------------------------------------------+
double VolumeDown(const double v,const double step) {
   if(v<=0) return(0);
   if(step<=0) return(v);
   return(NormalizeDouble(MathFloor(v/step+1e-7)*step,VolDigits(step)));
}

int VolDigits(const double step) {
   for(int d=0;d<8;d++) {
      double x=step*MathPow(10,d);
      if(MathAbs(x-MathRound(x))<1e-7) return(d);
   }
   return(8);
}

string Lots(const string sym,const double v) {
   return(DoubleToString(v,VolDigits(MarketInfo(sym,MODE_LOTSTEP))));
}

int Clamp(const int v,const int lo,const int hi) {
   return(v<lo ? lo : (v>hi ? hi : v));
}

string Money(const double v) {
   return(DoubleToString(v,2));
}

//+------------------------------------------------------------------+
//| JSON and URLs: flat, ASCII, hand-written                          |
//+------------------------------------------------------------------+
bool IsSpace(const ushort c) {
   return(c==' ' || c=='\t' || c=='\r' || c=='\n');
}

// The value of "key" anywhere in body, quoted or bare ("" when absent or null).
string JsonGet(const string body,const string key) {
   string pat="\""+key+"\"";
   int len=StringLen(body);
   int pos=StringFind(body,pat,0);
   while(pos>=0) {
      int i=pos+StringLen(pat);
      while(i<len && IsSpace(StringGetCharacter(body,i)))
         i++;
      if(i<len && StringGetCharacter(body,i)==':') {
         i++;
         while(i<len && IsSpace(StringGetCharacter(body,i)))
            i++;
         if(i<len && StringGetCharacter(body,i)=='"') return(JsonString(body,i));
         int j=i;
         while(j<len) {
            ushort c=StringGetCharacter(body,j);
            if(c==',' || c=='}' || c==']' || IsSpace(c)) break;
            j++;
         }
         string bare=StringSubstr(body,i,j-i);
         return(bare=="null" ? "" : bare);
      }
      pos=StringFind(body,pat,pos+1);
   }
   return("");
}

int JsonGetInt(const string body,const string key,const int fallback) {
   string v=JsonGet(body,key);
   return(v=="" ? fallback : (int)StringToInteger(v));
}

// The quoted string starting at body[start] == '"', unescaped.
string JsonString(const string body,const int start) {
   string out="";
   int len=StringLen(body);
   for(int i=start+1;i<len;i++) {
      ushort c=StringGetCharacter(body,i);
      if(c=='"') break;
      if(c=='\\' && i+1<len) {
         i++;
         ushort e=StringGetCharacter(body,i);
         if(e=='n')
            out+="\n";
         else if(e=='t')
            out+="\t";
         else if(e=='r')
            out+="\r";
         else if(e=='u') {
            out+="?";
            i+=4;
         }
         else
            out+=ShortToString(e);
         continue;
      }
      out+=ShortToString(c);
   }
   return(out);
}

// The objects of the array "key", each as its own flat JSON text.
int JsonGetArray(const string body,const string key,string &items[]) {
   ArrayResize(items,0);
   string pat="\""+key+"\"";
   int pos=StringFind(body,pat,0);
   if(pos<0) return(0);
   int i=StringFind(body,"[",pos+StringLen(pat));
   if(i<0) return(0);
   int len=StringLen(body), depth=0, begin=-1;
   bool in_str=false;
   for(i=i+1;i<len;i++) {
      ushort c=StringGetCharacter(body,i);
      if(in_str) {
         if(c=='\\')
            i++;
         else if(c=='"')
            in_str=false;
         continue;
      }
      if(c=='"')
         in_str=true;
      else if(c=='{') {
         if(depth==0)
            begin=i;
         depth++;
      }
      else if(c=='}') {
         depth--;
         if(depth==0 && begin>=0) {
            int n=ArraySize(items);
            ArrayResize(items,n+1);
            items[n]=StringSubstr(body,begin,i-begin+1);
            begin=-1;
         }
      }
      else if(c==']' && depth==0) break;
   }
   return(ArraySize(items));
}

string JsonEsc(const string s) {
   string out="";
   int len=StringLen(s);
   for(int i=0;i<len;i++) {
      ushort c=StringGetCharacter(s,i);
      if(c=='"' || c=='\\')
         out+="\\"+ShortToString(c);
      else if(c<32 || c>126)
         out+="?";            // ASCII only
      else
         out+=ShortToString(c);
   }
   return(out);
}

void JsonKey(string &out,const string key) {
   if(out!="")
      out+=",";
   out+="\""+key+"\":";
}

void JsonAddStr(string &out,const string key,const string value) {
   JsonKey(out,key);
   out+="\""+JsonEsc(value)+"\"";
}

void JsonAddInt(string &out,const string key,const long value) {
   JsonKey(out,key);
   out+=IntegerToString(value);
}

void JsonAddBool(string &out,const string key,const bool value) {
   JsonKey(out,key);
   out+=(value ? "true" : "false");
}

void JsonAddRaw(string &out,const string key,const string raw) {
   JsonKey(out,key);
   out+=raw;
}

string UrlParam(const string key,const string value) {
   string out="";
   int len=StringLen(value);
   for(int i=0;i<len;i++) {
      ushort c=StringGetCharacter(value,i);
      if((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9') || c=='-' || c=='_' || c=='.' || c=='~')
         out+=ShortToString(c);
      else
         out+=StringFormat("%%%02X",c&0xFF);
   }
   return(key+"="+out);
}
//+------------------------------------------------------------------+
